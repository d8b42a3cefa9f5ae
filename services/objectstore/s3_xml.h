#pragma once
// Parsing S3 request documents: one root element with the expected name and
// nothing after it, else MalformedXML (pugixml alone accepts several
// top-level elements, so "<Delete>…</Delete><Delete/>" must be refused here).

#include <string_view>

#include <pugixml.hpp>

#include "appliance/core/result.h"

namespace annex::objectstore {

// The parsed document; its document_element() is named `root`.
Result<pugi::xml_document> ParseS3Document(std::string_view body, std::string_view root);

// The MalformedXML error.
Status MalformedXml();

}  // namespace annex::objectstore

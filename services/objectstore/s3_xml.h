#pragma once
// Parsing S3 request documents: one root element with the expected name and
// nothing after it, else MalformedXML (pugixml alone accepts several
// top-level elements, so "<Delete>…</Delete><Delete/>" must be refused here).

#include <initializer_list>
#include <string_view>

#include <pugixml.hpp>

#include "appliance/core/result.h"

namespace annex::objectstore {

// The parsed document; its document_element() is named `root`.
Result<pugi::xml_document> ParseS3Document(std::string_view body, std::string_view root);

// The MalformedXML error.
Status MalformedXml();

// MalformedXML unless every child element of `node` is named in `once` (at
// most one of each) or `repeated`. S3 validates documents against its
// schema: a misspelt or misplaced element must be refused, not ignored (in a
// lifecycle filter, ignoring it would widen the rule to every object).
Status ExpectChildren(const pugi::xml_node& node, std::initializer_list<std::string_view> once,
                      std::initializer_list<std::string_view> repeated = {});

// The number of child elements of `node`.
size_t ChildElementCount(const pugi::xml_node& node);

}  // namespace annex::objectstore

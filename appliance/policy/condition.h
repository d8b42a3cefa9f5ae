#pragma once
// The Condition element: whether every clause of a statement holds for a
// request, as IAM decides it — operators AND together, keys within an
// operator AND, a key's values OR (NOR for a negated operator); a key the
// request lacks fails a clause, except a negated operator's (true),
// `…IfExists` (true), `Null` (which tests exactly that), and
// `ForAllValues:` (true) / `ForAnyValue:` (false).

#include <vector>

#include "appliance/policy/policy.h"
#include "appliance/policy/request_context.h"

namespace annex::policy {

bool ConditionsHold(const std::vector<ConditionClause>& clauses, const RequestContext& context, bool variables);

// Fills the clause's prepared fields from its operator and values (policy.h).
void PrepareCondition(ConditionClause& clause);

}  // namespace annex::policy

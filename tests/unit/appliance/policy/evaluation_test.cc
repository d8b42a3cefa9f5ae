// The evaluation logic, case by case from AWS's documentation: default
// deny, explicit deny first, the root, boundaries, session policies,
// resource policies within and across accounts, anonymous callers.

#include "appliance/policy/evaluation.h"

#include <gtest/gtest.h>

namespace annex::policy {
namespace {

constexpr const char* kAccount = "111122223333";
constexpr const char* kOther = "444455556666";

Policy Must(const std::string& doc, PolicyKind kind = PolicyKind::kIdentity) {
  auto p = ParsePolicy(doc, kind);
  EXPECT_TRUE(p.ok()) << doc << ": " << p.status().ToString();
  return p.ok() ? std::move(*p) : Policy{};
}

std::string Allow(const std::string& action, const std::string& resource, const std::string& extra = "") {
  return R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":")" + action + R"(","Resource":")" + resource +
         "\"" + extra + "}}";
}
std::string Deny(const std::string& action, const std::string& resource) {
  return R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":")" + action + R"(","Resource":")" + resource +
         "\"}}";
}
std::string Grant(const std::string& effect, const std::string& principal, const std::string& action,
                  const std::string& resource) {
  return R"({"Version":"2012-10-17","Statement":{"Effect":")" + effect + R"(","Principal":)" + principal +
         R"(,"Action":")" + action + R"(","Resource":")" + resource + "\"}}";
}

Caller User(const std::string& account, const std::string& name) {
  return {CallerType::kUser, account, "arn:aws:iam::" + account + ":user/" + name, ""};
}
Caller Root(const std::string& account) { return {CallerType::kRoot, account, "arn:aws:iam::" + account + ":root", ""}; }
Caller Session(const std::string& account, const std::string& role, const std::string& session) {
  return {CallerType::kRoleSession, account, "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session,
          "arn:aws:iam::" + account + ":role/" + role};
}

AuthorizationRequest Request(Caller caller, const std::string& action, const std::string& resource,
                             const std::string& owner = kAccount) {
  AuthorizationRequest r;
  r.caller = std::move(caller);
  r.action = action;
  r.resource = resource;
  r.resource_account = owner;
  if (r.caller.type == CallerType::kUser) r.context.Set("aws:username", r.caller.arn.substr(r.caller.arn.rfind('/') + 1));
  return r;
}

TEST(EvaluationTest, DefaultDenyAndIdentityAllow) {
  auto r = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::photos/a.jpg");
  Verdict none = Evaluate(r, {});
  EXPECT_EQ(none.decision, Decision::kImplicitDeny);
  EXPECT_EQ(none.because, PolicyType::kIdentity);
  EXPECT_EQ(DenialMessage(r, none),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "
            "\"arn:aws:s3:::photos/a.jpg\" because no identity-based policy allows the s3:GetObject action");

  Policy read = Must(Allow("s3:Get*", "arn:aws:s3:::photos/*"));
  EXPECT_TRUE(Evaluate(r, {.identity = {&read}}).allowed());
  auto put = Request(User(kAccount, "alice"), "s3:PutObject", "arn:aws:s3:::photos/a.jpg");
  EXPECT_FALSE(Evaluate(put, {.identity = {&read}}).allowed());
  auto other_bucket = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::private/a.jpg");
  EXPECT_FALSE(Evaluate(other_bucket, {.identity = {&read}}).allowed());
  // Actions ignore case; resources do not.
  auto upper = Request(User(kAccount, "alice"), "S3:GETOBJECT", "arn:aws:s3:::photos/a.jpg");
  EXPECT_TRUE(Evaluate(upper, {.identity = {&read}}).allowed());
  auto upper_resource = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::PHOTOS/a.jpg");
  EXPECT_FALSE(Evaluate(upper_resource, {.identity = {&read}}).allowed());
}

TEST(EvaluationTest, AnExplicitDenyWinsOverEveryAllow) {
  Policy all = Must(Allow("s3:*", "*"));
  Policy deny_secret = Must(Deny("s3:*", "arn:aws:s3:::photos/secret/*"));
  auto r = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::photos/secret/x");
  Verdict v = Evaluate(r, {.identity = {&all, &deny_secret}});
  EXPECT_EQ(v.decision, Decision::kExplicitDeny);
  EXPECT_EQ(DenialMessage(r, v),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: "
            "\"arn:aws:s3:::photos/secret/x\" with an explicit deny in an identity-based policy");
  auto elsewhere = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::photos/public/x");
  EXPECT_TRUE(Evaluate(elsewhere, {.identity = {&all, &deny_secret}}).allowed());

  // A resource policy's deny binds a caller its identity policies allow, and the root.
  Policy bucket_deny = Must(Grant("Deny", R"("*")", "s3:DeleteObject", "arn:aws:s3:::photos/*"), PolicyKind::kResource);
  auto del = Request(Root(kAccount), "s3:DeleteObject", "arn:aws:s3:::photos/a");
  Verdict root_denied = Evaluate(del, {.resource = &bucket_deny});
  EXPECT_EQ(root_denied.decision, Decision::kExplicitDeny);
  EXPECT_EQ(root_denied.because, PolicyType::kResource);
}

TEST(EvaluationTest, TheRootIsNotLimitedByIdentityPolicies) {
  auto r = Request(Root(kAccount), "s3:PutObject", "arn:aws:s3:::photos/a");
  EXPECT_TRUE(Evaluate(r, {}).allowed());
  // Another account's root needs that account's resource policy.
  auto foreign = Request(Root(kOther), "s3:PutObject", "arn:aws:s3:::photos/a");
  Verdict v = Evaluate(foreign, {});
  EXPECT_EQ(v.decision, Decision::kImplicitDeny);
  EXPECT_EQ(v.because, PolicyType::kResource);
  Policy to_other = Must(Grant("Allow", R"({"AWS":"444455556666"})", "s3:PutObject", "arn:aws:s3:::photos/*"),
                         PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(foreign, {.resource = &to_other}).allowed());
}

TEST(EvaluationTest, APermissionsBoundaryLimitsWhatIdentityPoliciesGrant) {
  Policy all = Must(Allow("s3:*", "*"));
  Policy boundary = Must(Allow("s3:Get*", "*"));
  auto get = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::photos/a");
  auto put = Request(User(kAccount, "alice"), "s3:PutObject", "arn:aws:s3:::photos/a");
  EXPECT_TRUE(Evaluate(get, {.identity = {&all}, .boundary = &boundary}).allowed());
  Verdict v = Evaluate(put, {.identity = {&all}, .boundary = &boundary});
  EXPECT_EQ(v.decision, Decision::kImplicitDeny);
  EXPECT_EQ(v.because, PolicyType::kBoundary);
  EXPECT_NE(DenialMessage(put, v).find("because no permissions boundary allows the s3:PutObject action"),
            std::string::npos);
  // The boundary grants nothing by itself.
  EXPECT_FALSE(Evaluate(get, {.boundary = &boundary}).allowed());
  // A resource policy naming the user is not limited by the user's boundary.
  Policy bucket = Must(Grant("Allow", R"({"AWS":"arn:aws:iam::111122223333:user/alice"})", "s3:PutObject",
                             "arn:aws:s3:::photos/*"),
                       PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(put, {.identity = {&all}, .boundary = &boundary, .resource = &bucket}).allowed());
}

TEST(EvaluationTest, SessionPoliciesNarrowAnAssumedRole) {
  Policy role = Must(Allow("s3:*", "*"));
  Policy session = Must(Allow("s3:GetObject", "arn:aws:s3:::photos/*"));
  Caller caller = Session(kAccount, "builder", "ci-run-7");
  auto get = Request(caller, "s3:GetObject", "arn:aws:s3:::photos/a");
  auto put = Request(caller, "s3:PutObject", "arn:aws:s3:::photos/a");
  PolicySet set{.identity = {&role}, .has_session_policies = true, .session = {&session}};
  EXPECT_TRUE(Evaluate(get, set).allowed());
  Verdict v = Evaluate(put, set);
  EXPECT_EQ(v.because, PolicyType::kSession);
  // Without session policies the role's own policies decide.
  EXPECT_TRUE(Evaluate(put, {.identity = {&role}}).allowed());
  // A session narrowed to nothing (session policies given, none allowing) gets nothing.
  EXPECT_FALSE(Evaluate(get, {.identity = {&role}, .has_session_policies = true}).allowed());

  // A resource policy naming the session is not limited by session policies; naming the role is.
  Policy by_session = Must(Grant("Allow", R"({"AWS":"arn:aws:sts::111122223333:assumed-role/builder/ci-run-7"})",
                                 "s3:PutObject", "arn:aws:s3:::photos/*"),
                           PolicyKind::kResource);
  Policy by_role = Must(Grant("Allow", R"({"AWS":"arn:aws:iam::111122223333:role/builder"})", "s3:PutObject",
                              "arn:aws:s3:::photos/*"),
                        PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(put, {.has_session_policies = true, .session = {&session}, .resource = &by_session}).allowed());
  EXPECT_FALSE(Evaluate(put, {.has_session_policies = true, .session = {&session}, .resource = &by_role}).allowed());
  EXPECT_TRUE(Evaluate(put, {.resource = &by_role}).allowed());
}

TEST(EvaluationTest, ResourcePoliciesWithinOneAccount) {
  auto r = Request(User(kAccount, "alice"), "s3:GetObject", "arn:aws:s3:::photos/a");
  Policy names_alice = Must(Grant("Allow", R"({"AWS":["arn:aws:iam::111122223333:user/alice"]})", "s3:GetObject",
                                  "arn:aws:s3:::photos/*"),
                            PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(r, {.resource = &names_alice}).allowed()) << "a grant to the user suffices in its account";
  Policy names_account = Must(Grant("Allow", R"({"AWS":"111122223333"})", "s3:GetObject", "arn:aws:s3:::photos/*"),
                              PolicyKind::kResource);
  Verdict v = Evaluate(r, {.resource = &names_account});
  EXPECT_EQ(v.decision, Decision::kImplicitDeny) << "a grant to the account delegates to its identity policies";
  EXPECT_EQ(v.because, PolicyType::kIdentity);
  Policy names_bob = Must(Grant("Allow", R"({"AWS":"arn:aws:iam::111122223333:user/bob"})", "s3:GetObject",
                                "arn:aws:s3:::photos/*"),
                          PolicyKind::kResource);
  EXPECT_FALSE(Evaluate(r, {.resource = &names_bob}).allowed());
  // NotPrincipal: a deny for everyone but the named.
  Policy all_but_alice = Must(Grant("Deny", R"({"AWS":"arn:aws:iam::111122223333:user/alice"})", "s3:*",
                                    "arn:aws:s3:::photos/*"),
                              PolicyKind::kResource);
  // AWS exempts a user only when NotPrincipal names both it and its account.
  std::string not_principal = R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}})";
  Policy deny_others = Must(not_principal, PolicyKind::kResource);
  Policy all = Must(Allow("s3:*", "*"));
  EXPECT_TRUE(Evaluate(r, {.identity = {&all}, .resource = &deny_others}).allowed());
  for (const char* partial : {R"("arn:aws:iam::111122223333:user/alice")", R"("111122223333")"}) {
    Policy half = Must(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":)" +
                           std::string(partial) + R"(},"Action":"s3:*","Resource":"arn:aws:s3:::photos/*"}})",
                       PolicyKind::kResource);
    EXPECT_EQ(Evaluate(r, {.identity = {&all}, .resource = &half}).decision, Decision::kExplicitDeny) << partial;
  }
  auto bob = Request(User(kAccount, "bob"), "s3:GetObject", "arn:aws:s3:::photos/a");
  EXPECT_EQ(Evaluate(bob, {.identity = {&all}, .resource = &deny_others}).decision, Decision::kExplicitDeny);
  EXPECT_EQ(Evaluate(r, {.identity = {&all}, .resource = &all_but_alice}).decision, Decision::kExplicitDeny);
}

TEST(EvaluationTest, AcrossAccountsBothSidesMustAllow) {
  auto r = Request(User(kOther, "bob"), "s3:GetObject", "arn:aws:s3:::photos/a", kAccount);
  Policy bucket = Must(Grant("Allow", R"({"AWS":"arn:aws:iam::444455556666:user/bob"})", "s3:GetObject",
                             "arn:aws:s3:::photos/*"),
                       PolicyKind::kResource);
  Policy bobs_own = Must(Allow("s3:GetObject", "arn:aws:s3:::photos/*"));
  Verdict only_bucket = Evaluate(r, {.resource = &bucket});
  EXPECT_EQ(only_bucket.because, PolicyType::kIdentity);
  Verdict only_identity = Evaluate(r, {.identity = {&bobs_own}});
  EXPECT_EQ(only_identity.because, PolicyType::kResource);
  EXPECT_NE(DenialMessage(r, only_identity).find("because no resource-based policy allows"), std::string::npos);
  EXPECT_TRUE(Evaluate(r, {.identity = {&bobs_own}, .resource = &bucket}).allowed());
  // A grant to the other account delegates to it.
  Policy to_account = Must(Grant("Allow", R"({"AWS":"arn:aws:iam::444455556666:root"})", "s3:GetObject",
                                 "arn:aws:s3:::photos/*"),
                           PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(r, {.identity = {&bobs_own}, .resource = &to_account}).allowed());
  EXPECT_FALSE(Evaluate(r, {.resource = &to_account}).allowed());
}

TEST(EvaluationTest, AnonymousCallersNeedAPublicGrant) {
  AuthorizationRequest r;
  r.action = "s3:GetObject";
  r.resource = "arn:aws:s3:::site/index.html";
  r.resource_account = kAccount;
  EXPECT_FALSE(Evaluate(r, {}).allowed());
  Policy account_only = Must(Grant("Allow", R"({"AWS":"111122223333"})", "s3:GetObject", "arn:aws:s3:::site/*"),
                             PolicyKind::kResource);
  EXPECT_FALSE(Evaluate(r, {.resource = &account_only}).allowed());
  Policy everyone = Must(Grant("Allow", R"("*")", "s3:GetObject", "arn:aws:s3:::site/*"), PolicyKind::kResource);
  EXPECT_TRUE(Evaluate(r, {.resource = &everyone}).allowed());
  EXPECT_EQ(DenialMessage(r, Evaluate(r, {})).substr(0, 15), "User: anonymous");
}

TEST(EvaluationTest, NotActionNotResourceAndVariables) {
  // "Deny everything outside IAM unless MFA…": NotAction with Deny.
  Policy all = Must(Allow("*", "*"));
  Policy only_iam = Must(R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}})");
  EXPECT_TRUE(Evaluate(Request(User(kAccount, "a"), "iam:ListUsers", "*"), {.identity = {&all, &only_iam}}).allowed());
  EXPECT_FALSE(Evaluate(Request(User(kAccount, "a"), "s3:ListBucket", "arn:aws:s3:::x"), {.identity = {&all, &only_iam}})
                   .allowed());
  // NotResource with Allow: everything but one bucket.
  Policy not_private = Must(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::private","arn:aws:s3:::private/*"]}})");
  EXPECT_TRUE(Evaluate(Request(User(kAccount, "a"), "s3:GetObject", "arn:aws:s3:::public/k"), {.identity = {&not_private}})
                  .allowed());
  EXPECT_FALSE(Evaluate(Request(User(kAccount, "a"), "s3:GetObject", "arn:aws:s3:::private/k"), {.identity = {&not_private}})
                   .allowed());
  // The home-folder policy.
  Policy home = Must(Allow("s3:*", "arn:aws:s3:::home/${aws:username}/*"));
  EXPECT_TRUE(Evaluate(Request(User(kAccount, "alice"), "s3:PutObject", "arn:aws:s3:::home/alice/notes.txt"),
                       {.identity = {&home}})
                  .allowed());
  EXPECT_FALSE(Evaluate(Request(User(kAccount, "alice"), "s3:PutObject", "arn:aws:s3:::home/bob/notes.txt"),
                        {.identity = {&home}})
                   .allowed());
  // Without a username (the root, a role session) the variable matches nothing.
  auto session = Request(Session(kAccount, "r", "s"), "s3:PutObject", "arn:aws:s3:::home/r/notes.txt");
  EXPECT_FALSE(Evaluate(session, {.identity = {&home}}).allowed());
  // Conditions gate a statement.
  Policy office = Must(Allow("s3:*", "*", R"(,"Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})"));
  auto inside = Request(User(kAccount, "a"), "s3:GetObject", "arn:aws:s3:::b/k");
  inside.context.Set("aws:SourceIp", "203.0.113.9");
  auto outside = inside;
  outside.context.Set("aws:SourceIp", "198.51.100.9");
  EXPECT_TRUE(Evaluate(inside, {.identity = {&office}}).allowed());
  EXPECT_FALSE(Evaluate(outside, {.identity = {&office}}).allowed());
}

TEST(EvaluationTest, TrustPoliciesMatchThePrincipal) {
  Policy trust = Must(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"}})",
                      PolicyKind::kTrust);
  bool direct = false;
  EXPECT_TRUE(PrincipalMatches(trust.statements[0], User(kAccount, "alice"), &direct));
  EXPECT_TRUE(direct);
  EXPECT_FALSE(PrincipalMatches(trust.statements[0], User(kAccount, "bob")));
  Policy account = Must(R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}})",
                        PolicyKind::kTrust);
  EXPECT_TRUE(PrincipalMatches(account.statements[0], User(kAccount, "bob"), &direct));
  EXPECT_FALSE(direct);
}

}  // namespace
}  // namespace annex::policy

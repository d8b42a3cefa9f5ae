#include "appliance/iam/aws_managed_policies.h"

namespace annex::iam {

const std::vector<AwsManagedPolicy>& AwsManagedPolicies() {
  static const std::vector<AwsManagedPolicy> policies = {
      {"AdministratorAccess", "/", "Provides full access to AWS services and resources.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"},
      {"ReadOnlyAccess", "/", "Provides read-only access to AWS services and resources.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[)"
       R"("s3:Get*","s3:List*","s3:Describe*","iam:Get*","iam:List*","iam:Simulate*","iam:GenerateServiceLastAccessedDetails",)"
       R"("logs:Describe*","logs:Get*","logs:FilterLogEvents","logs:ListTagsForResource","logs:ListTagsLogGroup",)"
       R"("logs:StartQuery","logs:StopQuery","logs:TestMetricFilter","ecr:BatchCheckLayerAvailability",)"
       R"("ecr:BatchGetImage","ecr:Describe*","ecr:Get*","ecr:List*","ecs:Describe*","ecs:List*",)"
       R"("rds:Describe*","rds:ListTagsForResource","lambda:Get*","lambda:List*","cloudwatch:Describe*",)"
       R"("cloudwatch:Get*","cloudwatch:List*","events:Describe*","events:List*","events:Test*"],"Resource":"*"}]})"},
      {"AmazonS3FullAccess", "/", "Provides full access to all buckets.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})"},
      {"AmazonS3ReadOnlyAccess", "/", "Provides read only access to all buckets.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*"],"Resource":"*"}]})"},
      {"AWSLambdaBasicExecutionRole", "/service-role/", "Provides write permissions to CloudWatch Logs.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]})"},
      {"AmazonECSTaskExecutionRolePolicy", "/service-role/",
       "Provides access to other AWS service resources that are required to run Amazon ECS tasks",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken",)"
       R"("ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream",)"
       R"("logs:PutLogEvents"],"Resource":"*"}]})"},
      {"AmazonEC2ContainerRegistryReadOnly", "/", "Provides read-only access to Amazon EC2 Container Registry repositories.",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken",)"
       R"("ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:GetRepositoryPolicy",)"
       R"("ecr:DescribeRepositories","ecr:ListImages","ecr:DescribeImages","ecr:BatchGetImage",)"
       R"("ecr:GetLifecyclePolicy","ecr:GetLifecyclePolicyPreview","ecr:ListTagsForResource",)"
       R"("ecr:DescribeImageScanFindings"],"Resource":"*"}]})"},
      {"CloudWatchLogsFullAccess", "/", "Provides full access to CloudWatch Logs",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:*"],"Resource":"*"}]})"},
  };
  return policies;
}

std::string AwsManagedPolicyArn(const AwsManagedPolicy& p) {
  return "arn:aws:iam::aws:policy" + std::string(p.path) + std::string(p.name);
}

const AwsManagedPolicy* FindAwsManagedPolicy(std::string_view arn) {
  for (const auto& p : AwsManagedPolicies()) {
    if (AwsManagedPolicyArn(p) == arn) return &p;
  }
  return nullptr;
}

}  // namespace annex::iam

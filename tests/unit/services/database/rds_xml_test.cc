#include "services/database/rds_xml.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace annex::database {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kDeclaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

// The document `append` writes under a <Result> root, without the XML declaration.
template <typename F>
std::string Rendered(F append) {
  http::XmlDocument doc("Result");
  append(doc.root());
  std::string xml = doc.Render();
  if (xml.starts_with(kDeclaration)) xml.erase(0, kDeclaration.size());
  return xml;
}

TEST(RdsXmlTest, SmallInstanceExactly) {
  Json doc = Json::parse(R"({
    "_annex": {"state": "running", "pid": 4242},
    "TagList": [{"Key": "env", "Value": "dev"}, {"Key": "empty", "Value": ""}],
    "MultiAZ": false,
    "NotAnRdsMember": "dropped",
    "Endpoint": {"Port": 5432, "Address": "db1.annex.local", "HostedZoneId": null},
    "AllocatedStorage": 20,
    "Engine": "postgres",
    "DBInstanceIdentifier": "db1",
    "StorageEncrypted": true
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, doc); }),
            "<Result><DBInstance>"
            "<DBInstanceIdentifier>db1</DBInstanceIdentifier>"
            "<Engine>postgres</Engine>"
            "<Endpoint><Address>db1.annex.local</Address><Port>5432</Port></Endpoint>"
            "<AllocatedStorage>20</AllocatedStorage>"
            "<MultiAZ>false</MultiAZ>"
            "<StorageEncrypted>true</StorageEncrypted>"
            "<TagList><Tag><Key>env</Key><Value>dev</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag></TagList>"
            "</DBInstance></Result>");
}

TEST(RdsXmlTest, ListsUseTheModelsMemberNames) {
  Json doc = Json::parse(R"({
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "default.postgres15", "ParameterApplyStatus": "in-sync"}],
    "ReadReplicaDBInstanceIdentifiers": ["replica-1", "replica-2"],
    "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "DBSecurityGroups": []
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, doc); }),
            "<Result><DBInstance>"
            "<DBSecurityGroups/>"
            "<VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1</VpcSecurityGroupId>"
            "<Status>active</Status></VpcSecurityGroupMembership></VpcSecurityGroups>"
            "<DBParameterGroups><DBParameterGroup><DBParameterGroupName>default.postgres15</DBParameterGroupName>"
            "<ParameterApplyStatus>in-sync</ParameterApplyStatus></DBParameterGroup></DBParameterGroups>"
            "<ReadReplicaDBInstanceIdentifiers><ReadReplicaDBInstanceIdentifier>replica-1"
            "</ReadReplicaDBInstanceIdentifier><ReadReplicaDBInstanceIdentifier>replica-2"
            "</ReadReplicaDBInstanceIdentifier></ReadReplicaDBInstanceIdentifiers>"
            "<EnabledCloudwatchLogsExports><member>postgresql</member><member>upgrade</member>"
            "</EnabledCloudwatchLogsExports>"
            "</DBInstance></Result>");
}

TEST(RdsXmlTest, NestedStructuresAndPendingModifiedValues) {
  Json doc = Json::parse(R"({
    "DBInstanceIdentifier": "db1",
    "PendingModifiedValues": {"DBInstanceClass": "db.m5.large", "MultiAZ": true, "AllocatedStorage": 100,
                              "PendingCloudwatchLogsExports": {"LogTypesToEnable": ["postgresql"]}},
    "DBSubnetGroup": {"DBSubnetGroupName": "default", "Subnets": [
        {"SubnetIdentifier": "subnet-1", "SubnetAvailabilityZone": {"Name": "annex-1a"}, "SubnetStatus": "Active"}]},
    "CertificateDetails": {"ValidTill": "2027-01-01T00:00:00.000Z", "CAIdentifier": "rds-ca-rsa2048-g1"}
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, doc); }),
            "<Result><DBInstance>"
            "<DBInstanceIdentifier>db1</DBInstanceIdentifier>"
            "<DBSubnetGroup><DBSubnetGroupName>default</DBSubnetGroupName><Subnets><Subnet>"
            "<SubnetIdentifier>subnet-1</SubnetIdentifier><SubnetAvailabilityZone><Name>annex-1a</Name>"
            "</SubnetAvailabilityZone><SubnetStatus>Active</SubnetStatus></Subnet></Subnets></DBSubnetGroup>"
            "<PendingModifiedValues><DBInstanceClass>db.m5.large</DBInstanceClass>"
            "<AllocatedStorage>100</AllocatedStorage><MultiAZ>true</MultiAZ><PendingCloudwatchLogsExports>"
            "<LogTypesToEnable><member>postgresql</member></LogTypesToEnable></PendingCloudwatchLogsExports>"
            "</PendingModifiedValues>"
            "<CertificateDetails><CAIdentifier>rds-ca-rsa2048-g1</CAIdentifier>"
            "<ValidTill>2027-01-01T00:00:00.000Z</ValidTill></CertificateDetails>"
            "</DBInstance></Result>");
}

TEST(RdsXmlTest, WrongTypesAndNullsAreSkipped) {
  Json doc = Json::parse(R"({
    "DBInstanceIdentifier": "db1",
    "Endpoint": "not an object",
    "TagList": {"Key": "not a list"},
    "VpcSecurityGroups": [42, {"VpcSecurityGroupId": "sg-1"}],
    "AllocatedStorage": [20],
    "DBName": null,
    "MultiAZ": 1,
    "Iops": 3000.0
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, doc); }),
            "<Result><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier>"
            "<VpcSecurityGroups><VpcSecurityGroupMembership><VpcSecurityGroupId>sg-1</VpcSecurityGroupId>"
            "</VpcSecurityGroupMembership></VpcSecurityGroups>"
            "<MultiAZ>true</MultiAZ><Iops>3000</Iops></DBInstance></Result>");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, Json::array()); }), "<Result/>");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, Json()); }), "<Result/>");
}

TEST(RdsXmlTest, TextIsEscaped) {
  Json doc = {{"DBInstanceIdentifier", "db1"}, {"TagList", {{{"Key", "a<b"}, {"Value", "x & \"y\""}}}}};
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBInstance(root, doc); }),
            "<Result><DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><TagList><Tag><Key>a&lt;b</Key>"
            "<Value>x &amp; \"y\"</Value></Tag></TagList></DBInstance></Result>");
}

TEST(RdsXmlTest, SnapshotAndEngineVersion) {
  Json snapshot = Json::parse(R"({
    "Status": "available", "DBSnapshotIdentifier": "snap-1", "DBInstanceIdentifier": "db1",
    "SnapshotCreateTime": "2026-12-07T14:00:00.000Z", "Port": 5432, "Encrypted": false, "_annex": {"path": "/x"}
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBSnapshot(root, snapshot); }),
            "<Result><DBSnapshot><DBSnapshotIdentifier>snap-1</DBSnapshotIdentifier>"
            "<DBInstanceIdentifier>db1</DBInstanceIdentifier><SnapshotCreateTime>2026-12-07T14:00:00.000Z"
            "</SnapshotCreateTime><Status>available</Status><Port>5432</Port><Encrypted>false</Encrypted>"
            "</DBSnapshot></Result>");

  Json version = Json::parse(R"({
    "Engine": "postgres", "EngineVersion": "15.18", "DBParameterGroupFamily": "postgres15",
    "ValidUpgradeTarget": [], "SupportsReadReplica": true,
    "SupportedTimezones": [{"TimezoneName": "UTC"}],
    "ExportableLogTypes": ["postgresql"],
    "DefaultCharacterSet": {"CharacterSetName": "UTF8"}
  })");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendDBEngineVersion(root, version); }),
            "<Result><DBEngineVersion><Engine>postgres</Engine><EngineVersion>15.18</EngineVersion>"
            "<DBParameterGroupFamily>postgres15</DBParameterGroupFamily>"
            "<DefaultCharacterSet><CharacterSetName>UTF8</CharacterSetName></DefaultCharacterSet>"
            "<ValidUpgradeTarget/><SupportedTimezones><Timezone><TimezoneName>UTC</TimezoneName></Timezone>"
            "</SupportedTimezones><ExportableLogTypes><member>postgresql</member></ExportableLogTypes>"
            "<SupportsReadReplica>true</SupportsReadReplica></DBEngineVersion></Result>");
}

TEST(RdsXmlTest, AppendShapeRendersDescribeResultLists) {
  Json docs = Json::array({{{"DBInstanceIdentifier", "a"}}, {{"DBInstanceIdentifier", "b"}}});
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendShape(root, "DBInstances", docs, "DBInstanceList"); }),
            "<Result><DBInstances><DBInstance><DBInstanceIdentifier>a</DBInstanceIdentifier></DBInstance>"
            "<DBInstance><DBInstanceIdentifier>b</DBInstanceIdentifier></DBInstance></DBInstances></Result>");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendShape(root, "Marker", "m1", "String"); }),
            "<Result><Marker>m1</Marker></Result>");
  EXPECT_EQ(Rendered([&](http::XmlNode root) { AppendShape(root, "X", docs, "NoSuchShape"); }), "<Result/>");
  EXPECT_TRUE(IsRdsShape("DBInstance"));
  EXPECT_TRUE(IsRdsShape("TagList"));
  EXPECT_TRUE(IsRdsShape("VpcSecurityGroupMembershipList"));
  EXPECT_TRUE(IsRdsShape("DBEngineVersionList"));
  EXPECT_FALSE(IsRdsShape("DBCluster"));
}

// A realistic CreateDBInstance/DescribeDBInstances document.
Json FullInstance() {
  return Json::parse(R"({
    "_annex": {"supervisor_unit": "db-mydb", "data_dir": "/var/lib/annex/db/mydb"},
    "DBInstanceIdentifier": "mydb", "DBInstanceClass": "db.t3.micro", "Engine": "postgres",
    "DBInstanceStatus": "available", "MasterUsername": "postgres", "DBName": "app",
    "Endpoint": {"Address": "mydb.c0ffee.annex.local", "Port": 5432, "HostedZoneId": "Z2R2ITUGPM61AM"},
    "AllocatedStorage": 20, "InstanceCreateTime": "2026-12-07T14:00:00.000Z",
    "PreferredBackupWindow": "03:00-03:30", "BackupRetentionPeriod": 7, "DBSecurityGroups": [],
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-0123456789abcdef0", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "default.postgres15", "ParameterApplyStatus": "in-sync"}],
    "AvailabilityZone": "annex-1a",
    "DBSubnetGroup": {"DBSubnetGroupName": "default", "DBSubnetGroupDescription": "default", "VpcId": "vpc-1",
      "SubnetGroupStatus": "Complete", "Subnets": [{"SubnetIdentifier": "subnet-1",
      "SubnetAvailabilityZone": {"Name": "annex-1a"}, "SubnetOutpost": {}, "SubnetStatus": "Active"}],
      "SupportedNetworkTypes": ["IPV4"]},
    "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
    "PendingModifiedValues": {"DBInstanceClass": "db.t3.small", "MultiAZ": false, "Port": 5433,
      "PendingCloudwatchLogsExports": {"LogTypesToEnable": ["postgresql"], "LogTypesToDisable": []}},
    "LatestRestorableTime": "2026-12-07T14:55:00.000Z", "MultiAZ": false, "EngineVersion": "15.18",
    "AutoMinorVersionUpgrade": true, "ReadReplicaDBInstanceIdentifiers": ["mydb-replica"],
    "ReadReplicaDBClusterIdentifiers": [], "LicenseModel": "postgresql-license", "Iops": 3000,
    "StorageThroughput": 125,
    "OptionGroupMemberships": [{"OptionGroupName": "default:postgres-15", "Status": "in-sync"}],
    "PubliclyAccessible": false, "StatusInfos": [], "StorageType": "gp3", "DbInstancePort": 0,
    "StorageEncrypted": true, "KmsKeyId": "arn:aws:kms:annex-1:123456789012:key/k1",
    "DbiResourceId": "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "CACertificateIdentifier": "rds-ca-rsa2048-g1",
    "DomainMemberships": [], "CopyTagsToSnapshot": true, "MonitoringInterval": 0,
    "DBInstanceArn": "arn:aws:rds:annex-1:123456789012:db:mydb", "IAMDatabaseAuthenticationEnabled": false,
    "PerformanceInsightsEnabled": false, "EnabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "DeletionProtection": false, "AssociatedRoles": [], "MaxAllocatedStorage": 100,
    "TagList": [{"Key": "env", "Value": "dev"}, {"Key": "owner", "Value": "team <db> & co"}],
    "CustomerOwnedIpEnabled": false, "NetworkType": "IPV4", "ActivityStreamStatus": "stopped",
    "BackupTarget": "region",
    "CertificateDetails": {"CAIdentifier": "rds-ca-rsa2048-g1", "ValidTill": "2027-12-07T14:00:00.000Z"},
    "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:annex-1:123456789012:secret:rds!db-1",
      "SecretStatus": "active", "KmsKeyId": "arn:aws:kms:annex-1:123456789012:key/k1"},
    "DedicatedLogVolume": false, "IsStorageConfigUpgradeAvailable": false,
    "EngineLifecycleSupport": "open-source-rds-extended-support"
  })");
}

// The DescribeDBInstances response a client would receive for `docs`.
std::string DescribeResponse(std::string_view action, std::string_view member, const Json& docs,
                             std::string_view list_shape) {
  http::XmlDocument doc(std::string(action) + "Response", kRdsXmlNamespace);
  http::XmlNode result = doc.root().Child(std::string(action) + "Result");
  AppendShape(result, member, docs, list_shape);
  doc.root().Child("ResponseMetadata").Add("RequestId", "00000000-0000-0000-0000-000000000000");
  return doc.Render();
}

std::string DumpDir() {
  const char* dir = std::getenv("ANNEX_RDS_XML_DUMP_DIR");
  return dir ? dir : "";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Renders the full instance; with ANNEX_RDS_XML_DUMP_DIR set, also writes
// instance.json and describe_db_instances.xml there for
// tests/unit/services/database/rds_xml_roundtrip.py to parse with botocore.
TEST(RdsXmlTest, FullInstanceDescribeResponse) {
  Json docs = Json::array({FullInstance()});
  std::string xml = DescribeResponse("DescribeDBInstances", "DBInstances", docs, "DBInstanceList");
  EXPECT_NE(xml.find("<DescribeDBInstancesResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
                     "<DescribeDBInstancesResult><DBInstances><DBInstance><DBInstanceIdentifier>mydb"),
            std::string::npos);
  EXPECT_NE(xml.find("<Value>team &lt;db&gt; &amp; co</Value>"), std::string::npos);
  EXPECT_EQ(xml.find("_annex"), std::string::npos);
  EXPECT_EQ(xml.find("supervisor_unit"), std::string::npos);
  if (std::string dir = DumpDir(); !dir.empty()) {
    WriteFile(dir + "/instance.json", FullInstance().dump(2));
    WriteFile(dir + "/describe_db_instances.xml", xml);
  }
}

// With ANNEX_RDS_XML_DUMP_DIR/generated.json present ({"DBInstance": doc,
// "DBSnapshot": doc, "DBEngineVersion": doc}, written by
// rds_xml_roundtrip.py with every member of each shape filled in), renders
// each as its Describe response into generated_<shape>.xml.
TEST(RdsXmlTest, RendersGeneratedDocumentsForTheRoundTripScript) {
  std::string dir = DumpDir();
  std::ifstream in(dir + "/generated.json");
  if (dir.empty() || !in) return;  // only the round-trip script asks for this
  std::stringstream text;
  text << in.rdbuf();
  Json generated = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(generated.is_object());
  struct Kind {
    const char* shape;
    const char* action;
    const char* member;
    const char* list;
  };
  for (Kind k : {Kind{"DBInstance", "DescribeDBInstances", "DBInstances", "DBInstanceList"},
                 Kind{"DBSnapshot", "DescribeDBSnapshots", "DBSnapshots", "DBSnapshotList"},
                 Kind{"DBEngineVersion", "DescribeDBEngineVersions", "DBEngineVersions", "DBEngineVersionList"}}) {
    if (!generated.contains(k.shape)) continue;
    Json docs = Json::array({generated[k.shape]});
    WriteFile(dir + "/generated_" + k.shape + ".xml", DescribeResponse(k.action, k.member, docs, k.list));
  }
}

}  // namespace
}  // namespace annex::database

#include "services/containers/ecs_store.h"

namespace annex::containers {

Result<std::unique_ptr<EcsStore>> OpenEcsStore(const std::string& dir) {
  return service::DocumentStore::Open(dir, {{"clusters", "cluster"},
                                            {"task_definitions", "task-definition"},
                                            {"tasks", "task"},
                                            {"services", "service"}});
}

std::string_view KindName(EcsKind kind) {
  switch (kind) {
    case EcsKind::kCluster: return "cluster";
    case EcsKind::kTaskDefinition: return "task-definition";
    case EcsKind::kTask: return "task";
    case EcsKind::kService: return "service";
  }
  return "";
}

}  // namespace annex::containers

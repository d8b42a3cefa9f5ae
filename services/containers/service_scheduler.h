#pragma once
// ServiceScheduler: keeps every ECS service at its desired count, as ECS's
// service scheduler does. Each pass, per service:
//
//   - stopped tasks are accounted once: one that never ran or ran less than
//     kHealthyAfter is a failure and delays the next launch (back-off
//     doubling from 2 s to 5 min); one that ran long enough resets it;
//   - the PRIMARY deployment gets tasks up to the desired count, as far as
//     maximumPercent allows (old deployments' tasks count against it);
//   - older deployments' tasks (and a PRIMARY's beyond the desired count)
//     are stopped as far as minimumHealthyPercent allows, pending ones first;
//   - old deployments without tasks end; a DRAINING service without tasks
//     becomes INACTIVE; events say what happened, as ECS words them.
//
// Called by the task reconciler's thread before it moves the tasks, so a
// task the scheduler starts is on its way in the same pass.

#include <cstdint>

#include "services/containers/ecs.h"

namespace annex::containers {

class ServiceScheduler {
 public:
  explicit ServiceScheduler(Ecs& ecs) : ecs_(ecs) {}
  // One pass over every service; true when it started or stopped tasks.
  bool Pass();

 private:
  bool Reconcile(const std::string& key, Json& service, int64_t now_ms);
  Ecs& ecs_;
};

}  // namespace annex::containers

#pragma once
// TaskRuntime: what moves tasks through ECS's lifecycle. The API writes a
// task's desired status to the store and wakes the runtime; the runtime
// reads the store and drives every task towards it — network, images,
// containers up; containers, network, images down — writing each step's
// lastStatus back. Being driven by the stored state alone, it picks up
// where it was after annexd restarts.

#include "appliance/core/status.h"

namespace annex::containers {

class TaskRuntime {
 public:
  virtual ~TaskRuntime() = default;
  // Something changed in the store: look again now, not at the next tick.
  virtual void Wake() = 0;
};

}  // namespace annex::containers

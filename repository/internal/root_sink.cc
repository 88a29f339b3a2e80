#include "repository/internal/root_sink.h"

namespace fraiseql::repository_internal {

void Sequencer::Enter(size_t index) {
  while (current_ < static_cast<ptrdiff_t>(index)) {
    if (current_ >= 0 && current_ < static_cast<ptrdiff_t>(roots_.size())) {
      roots_[current_]->Finish();
    }
    ++current_;
    if (current_ < static_cast<ptrdiff_t>(roots_.size())) {
      roots_[current_]->Begin();
    }
  }
}

}  // namespace fraiseql::repository_internal

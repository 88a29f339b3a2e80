// where/ + planner/: the bound parameters of a statement. Every user value
// travels here, as text with the SQL type it is cast to, never in SQL text.
#ifndef FRAISEQL_WHERE_PARAMS_H_
#define FRAISEQL_WHERE_PARAMS_H_

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "exec/plan.h"

namespace fraiseql::where {

// The executor's parameter type (exec/plan.h): what a filter binds is what
// a backend receives.
using Param = exec::Param;

class ParamList {
 public:
  // Appends a parameter; returns its placeholder with the cast: `$3::numeric`.
  std::string Add(Param param) {
    params_.push_back(std::move(param));
    const Param& p = params_.back();
    std::string placeholder = absl::StrCat("$", params_.size());
    if (!p.sql_type.empty()) absl::StrAppend(&placeholder, "::", p.sql_type);
    return placeholder;
  }

  const std::vector<Param>& params() const { return params_; }
  std::vector<Param> Take() { return std::move(params_); }

 private:
  std::vector<Param> params_;
};

}  // namespace fraiseql::where

#endif  // FRAISEQL_WHERE_PARAMS_H_

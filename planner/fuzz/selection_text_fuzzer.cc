// libFuzzer target over the selection-text parser
// (planner::ParseSelectionText): the input is the selection text.
//
// Besides "never crashes" (ASan, UBSan, no abort, no timeout; the parser
// must stay linear and bounded in depth), every input is checked for:
//   - errors: only InvalidArgument, with a message;
//   - a tree that parsed is well formed: every response key and field name
//     is a GraphQL name ([_A-Za-z][_0-9A-Za-z]*);
//   - round trip: the tree written back in its shortest form (`a:b{c d}`,
//     never longer than the input, so no size limit can reject it) parses
//     again, to the same tree.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "planner/selection_text.h"
#include "proto/query.pb.h"

namespace {

using fraiseql::v1::Selection;

[[noreturn]] void Violated(const char* what, absl::string_view input,
                           const std::string& detail) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\ninput: %.*s\n%s\n", what,
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

bool IsName(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// The shortest text of a selection tree. Iterative: depth is bounded by the
// parser, but the writer should not rely on it.
std::string Write(const std::vector<Selection>& fields) {
  std::string out;
  struct Frame {
    const google::protobuf::RepeatedPtrField<Selection>* list;
    const std::vector<Selection>* root;
    int next;
  };
  std::vector<Frame> stack = {{nullptr, &fields, 0}};
  bool need_space = false;
  while (!stack.empty()) {
    Frame& f = stack.back();
    int size = f.root ? static_cast<int>(f.root->size()) : f.list->size();
    if (f.next == size) {
      stack.pop_back();
      if (!stack.empty()) {
        out += '}';
        need_space = false;
      }
      continue;
    }
    const Selection& s = f.root ? (*f.root)[f.next] : f.list->Get(f.next);
    ++f.next;
    if (need_space) out += ' ';
    if (s.response_key() != s.field_name()) {
      out += s.response_key();
      out += ':';
    }
    out += s.field_name();
    need_space = true;
    if (s.fields_size() > 0) {
      out += '{';
      need_space = false;
      stack.push_back({&s.fields(), nullptr, 0});
    }
  }
  return out;
}

void CheckNames(const std::vector<Selection>& fields, absl::string_view input) {
  std::vector<const Selection*> todo;
  for (const Selection& s : fields) todo.push_back(&s);
  while (!todo.empty()) {
    const Selection* s = todo.back();
    todo.pop_back();
    if (!IsName(s->response_key()) || !IsName(s->field_name())) {
      Violated("a parsed name is not a GraphQL name", input, s->DebugString());
    }
    for (const Selection& child : s->fields()) todo.push_back(&child);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = fraiseql::planner::ParseSelectionText(text);
  if (!parsed.ok()) {
    if (parsed.status().code() != absl::StatusCode::kInvalidArgument ||
        parsed.status().message().empty()) {
      Violated("error is not InvalidArgument with a message", text,
               parsed.status().ToString());
    }
    return 0;
  }
  CheckNames(*parsed, text);
  std::string written = Write(*parsed);
  if (written.size() > text.size()) {
    Violated("shortest form longer than the input", text, written);
  }
  auto again = fraiseql::planner::ParseSelectionText(written);
  if (!again.ok()) {
    Violated("the written tree does not parse", text,
             written + "\n" + again.status().ToString());
  }
  if (Write(*again) != written || again->size() != parsed->size()) {
    Violated("the written tree parses to another tree", text, written);
  }
  for (size_t i = 0; i < parsed->size(); ++i) {
    if ((*again)[i].SerializeAsString() != (*parsed)[i].SerializeAsString()) {
      Violated("the written tree parses to another tree", text, written);
    }
  }
  return 0;
}

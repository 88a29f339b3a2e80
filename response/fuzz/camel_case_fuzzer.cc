// libFuzzer target over names::CamelCase, the one function behind schema
// field names and response keys. The input is the name.
//
// Besides "never crashes", every input is checked against the contract of
// names/camel_case.h:
//   - the result is never longer than the name;
//   - the leading underscores are kept, and no other underscore remains
//     (a name made only of underscores is returned unchanged);
//   - idempotence: CamelCase(CamelCase(x)) == CamelCase(x);
//   - valid UTF-8 in, valid UTF-8 out (checked by a decoder written here,
//     not the one CamelCase uses);
//   - the projector agrees: a row with the name as its only key, selected
//     whole, is written with the key CamelCase(name) (valid UTF-8 names).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "names/camel_case.h"
#include "response/projector.h"
#include "response/selection.h"

namespace {

using fraiseql::names::CamelCase;

[[noreturn]] void Violated(const char* what, absl::string_view name,
                           const std::string& result) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\nname:   %s\nresult: %s\n",
               what, absl::CHexEscape(name).c_str(),
               absl::CHexEscape(result).c_str());
  std::abort();
}

// RFC 3629 well-formed UTF-8 (no surrogates, no overlong forms, <= U+10FFFF).
bool ValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
    uint8_t c = b(0);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((b(k) & 0xC0) != 0x80) return false;
      cp = cp << 6 | (b(k) & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// JSON string text as the projector writes it (response/projector.h).
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<uint8_t>(ch) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<uint8_t>(ch));
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view name(reinterpret_cast<const char*>(data), size);
  const std::string camel = CamelCase(name);

  if (camel.size() > name.size()) Violated("result longer than name", name, camel);
  size_t leading = name.find_first_not_of('_');
  if (leading == absl::string_view::npos) {
    if (camel != name) Violated("only underscores, changed", name, camel);
  } else {
    if (camel.find_first_not_of('_') != leading) {
      Violated("leading underscores not kept", name, camel);
    }
    if (camel.find('_', leading) != std::string::npos) {
      Violated("an underscore after the leading ones remains", name, camel);
    }
  }
  if (CamelCase(camel) != camel) Violated("not idempotent", name, camel);
  if (!ValidUtf8(name)) return 0;
  if (!ValidUtf8(camel)) Violated("valid UTF-8 in, invalid out", name, camel);

  static const auto* projector = [] {
    fraiseql::response::SelectionSet all;
    all.select_all = true;
    return new fraiseql::response::Projector(all);
  }();
  std::string out;
  absl::Status s = projector->AppendRow("{" + JsonString(name) + ":1}", &out);
  std::string expected = "{" + JsonString(camel) + ":1}";
  if (!s.ok()) Violated("the projector rejects the name", name, s.ToString());
  if (out != expected) {
    Violated("the projector writes another key", name, out + " vs " + expected);
  }
  return 0;
}

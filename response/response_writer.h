// Part of the response stage: the GraphQL response envelope. The stream
// stage opens one ResponseWriter per request, writes each root field from
// the rows it fetches (projected by a Projector per field), and finishes the
// body:
//
//   {"data":{"users":[{...},{...}],"me":{...},"post":null}}
//   {"data":{"users":null},"errors":[{"message":"...","path":["users"]}]}
//   {"data":{"userCount":300,"cities":["Berlin","Paris"]}}
//   {"data":{"users":{"edges":[{"cursor":"...","node":{...}}],
//            "pageInfo":{"hasNextPage":true,"hasPreviousPage":false,
//                        "startCursor":"...","endCursor":"..."},
//            "totalCount":300}}}
#ifndef FRAISEQL_RESPONSE_RESPONSE_WRITER_H_
#define FRAISEQL_RESPONSE_RESPONSE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "response/projector.h"

namespace fraiseql::response {

// The pageInfo of a connection (Relay cursor connections).
struct PageInfo {
  bool has_next_page = false;
  bool has_previous_page = false;
};

// Appends `json` (any JSON value, any whitespace) to *out in the canonical
// form the projector writes (compact, strings re-escaped, numbers as text).
// InvalidArgument ("row is not valid JSON: ...") when it is not one valid
// JSON value; *out is then unchanged.
absl::Status AppendCanonicalJson(absl::string_view json, std::string* out);

// Where a whole body's bytes go while it is written, so that a big body is
// never copied whole (the Python module's destination is the bytes object
// it returns). ResponseWriter::Land moves what is written so far into it.
// Unlike a streamed piece, a landed byte can be taken back: the part of a
// field that fails is cut off again with Truncate.
class Destination {
 public:
  virtual ~Destination() = default;
  // Appends `bytes` after the bytes kept so far.
  virtual void Append(absl::string_view bytes) = 0;
  // Keeps only the first `size` bytes (at most the bytes kept so far).
  virtual void Truncate(size_t size) = 0;
};

// Builds one response body {"data":{...}} (plus "errors":[...] when a field
// failed) for one or more root fields, in the order they are written. Keys
// and messages are JSON-escaped.
//
// The writer appends to *out, and remembers where the current root field
// starts so FailField can discard it. A streaming consumer takes the body
// out piece by piece with TakeBytes; *out then holds only what was not
// taken yet. A whole body may instead be landed in a Destination as it is
// written (LandIn, Land), which FailField can still cut back. Not
// thread-safe: one writer per response, used by one thread at
// a time.
class ResponseWriter {
 public:
  // Appends `{"data":{` to *out, which must outlive the writer.
  explicit ResponseWriter(std::string* out);
  ResponseWriter(const ResponseWriter&) = delete;
  ResponseWriter& operator=(const ResponseWriter&) = delete;

  // Starts a list root field: `"key":[`.
  void BeginList(absl::string_view response_key);
  // Appends one projected row to the open list. On error (see
  // Projector::AppendRow: InvalidArgument for a row that is not a JSON
  // object) nothing is written and the list stays open; the caller normally
  // reports it with FailField. FailedPrecondition when no list is open
  // (never begun, ended, or failed).
  absl::Status AppendListItem(const Projector& projector,
                              absl::string_view row_json);
  // Closes the open list: `]`. Does nothing when no list is open, so it may
  // follow FailField.
  void EndList();

  // Writes a single-object root field: `"key":{...}`. On error (as
  // AppendListItem) nothing is written; the caller normally reports it with
  // FailField.
  absl::Status WriteObject(absl::string_view response_key,
                           const Projector& projector,
                           absl::string_view row_json);
  // Writes `"key":null` (a single object with no row).
  void WriteNull(absl::string_view response_key);

  // Writes a value root field, `"key":<json>` (a count, a sum, a list of
  // distinct values...), canonical as by AppendCanonicalJson. On error (not
  // valid JSON) nothing is written.
  absl::Status WriteValue(absl::string_view response_key,
                          absl::string_view json);

  // Starts a connection root field: `"key":{"edges":[`. With `reversed`,
  // edges arrive last first (a backward page read in reverse order) and
  // are written in the opposite order by EndConnection.
  void BeginConnection(absl::string_view response_key, bool reversed);
  // Appends one edge {"cursor":<cursor>,"node":<projected row>} to the open
  // connection. Errors as AppendListItem (nothing written; FailedPrecondition
  // when no connection is open).
  absl::Status AppendEdge(const Projector& projector, absl::string_view cursor,
                          absl::string_view row_json);
  // Closes the open connection: `],"pageInfo":{"hasNextPage":b,
  // "hasPreviousPage":b,"startCursor":c,"endCursor":c}` (cursors of the
  // first and last edge in output order, null when there is none), then
  // `"totalCount":n` when given, and `}`. Does nothing when no connection
  // is open.
  void EndConnection(const PageInfo& page_info,
                     std::optional<int64_t> total_count = std::nullopt);

  // Records that the root field `response_key` failed: when it is the
  // current (or just written) root field, everything written for it is
  // discarded, an open list included; its value becomes null (written now if
  // the field was not started); and {"message":...,"path":[key]} is added to
  // the errors. When part of the current field was already taken
  // (TakeBytes), that part cannot be recalled: the field is closed where it
  // stopped (a partial list, a connection with an empty pageInfo) and the
  // error is added.
  void FailField(absl::string_view response_key, absl::string_view message);

  // Moves the bytes written so far that are final to the end of *chunk
  // (between calls that write; never in the middle of one): everything but
  // the edges of an open reversed connection, which are reordered at its
  // end.
  void TakeBytes(std::string* chunk);

  // Lands the body in *destination, which must outlive the writer: every
  // byte Land moves there stays part of the body, and a field that fails
  // later is cut from it. Call before anything else; not with TakeBytes.
  void LandIn(Destination* destination) { destination_ = destination; }
  // Moves the bytes written so far that are final (as TakeBytes) to the
  // end of the destination, so that *out stays small.
  void Land();

  // Bytes of the body so far, taken or not.
  size_t bytes_written() const { return position(); }

  // Closes an open list or connection (the latter with an empty PageInfo),
  // closes "data", appends "errors":[...] when any field failed and closes
  // the body. Later calls do nothing; no other
  // method may be called after it.
  void Finish();

 private:
  // Writes the separator and `"key":`, and makes this the current field.
  void BeginField(absl::string_view response_key);
  // Removes the current field from *out (it was the last thing written).
  void DiscardField();
  // Closes an open list or connection.
  void CloseOpen();
  // How many bytes at the start of *out are final (TakeBytes, Land).
  size_t FinalBytes() const;

  enum class Open { kNone, kList, kConnection };

  // Offsets below count from the start of the body, taken bytes included.
  size_t position() const { return taken_ + out_->size(); }

  std::string* out_;
  size_t taken_ = 0;                    // bytes moved out by TakeBytes or Land
  Destination* destination_ = nullptr;  // where Land moves them
  size_t field_count_ = 0;  // root fields in *out
  // The current root field: its key, and where its bytes (separator
  // included) start in *out. has_field_ is false once it was discarded.
  bool has_field_ = false;
  std::string field_key_;
  size_t field_start_ = 0;
  Open open_ = Open::kNone;
  size_t list_items_ = 0;  // items of the open list, edges of the connection
  // The open connection: reversed edges are written back to back and
  // reordered at the end, from their start offsets in *out.
  bool reversed_ = false;
  size_t edges_start_ = 0;
  std::vector<size_t> edge_starts_;
  std::string first_cursor_;  // of the first edge appended
  std::string last_cursor_;   // of the last edge appended
  std::string errors_;  // the elements of the "errors" array
  bool finished_ = false;
};

}  // namespace fraiseql::response

#endif  // FRAISEQL_RESPONSE_RESPONSE_WRITER_H_

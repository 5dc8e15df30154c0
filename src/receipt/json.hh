// receipt::Json: a strict reader for receipt bodies, the one JSON reader of
// the receipt contract (docs/receipts.md). Pure: no I/O, never throws on bad
// input (only std::bad_alloc); a Json object is not shared between threads.
//
// What it accepts: one JSON text (RFC 8259) that is also I-JSON (RFC 7493)
// as RFC 8785 (JCS) requires it:
// - the input is UTF-8 and strings hold well-formed UTF-8 (RFC 3629); no
//   byte order mark; whitespace is space, tab, CR, LF; nothing but
//   whitespace after the value (a NUL byte is not whitespace);
// - strings: no raw control character (< 0x20); escapes \" \\ \/ \b \f \n
//   \r \t \uXXXX; an escaped surrogate must be a high one followed by a low
//   one (a lone surrogate is an error); noncharacters (U+FFFF ...) are
//   accepted, as RFC 8785 and the JavaScript and Python readers accept them;
// - numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? whose IEEE 754
//   double value is finite (1e400 is an error; 1e-400 reads as 0; more
//   digits than a double holds are rounded to the nearest double);
// - objects: no key twice in the same object (keys compared after escapes
//   are resolved: "a" and "\u0061" are the same key);
// - nesting: at most kMaxDepth containers deep (the top-level value is at
//   depth 1).
//
// The parsed value is a flat array of nodes in document order. A string
// node's text is its content with escapes resolved (a view into the input
// when it has no escape, else into storage owned by the Json object); a
// number node's text is its source text. Views stay valid until the next
// Parse() or the Json's destruction, and as long as the input is alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::receipt {

inline constexpr int kMaxDepth = 128;

class Json {
 public:
  enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

  struct Node {
    Kind kind = Kind::kNull;
    std::uint32_t count = 0;   // array: elements; object: members
    std::uint32_t end = 0;     // index one past the last node of this value
    std::string_view text;     // string: content; number: source text
  };

  // Parses `text`; "" when it is an accepted JSON text, else why not:
  // "byte N: <what>[ near \"...\"| at end of input]" (log-safe).
  std::string Parse(std::string_view text);

  // After a successful Parse(): node 0 is the top-level value. An object's
  // members are (key, value) node pairs: the first key is at index+1, its
  // value at key+1, the next key at value's `end`. An array's first element
  // is at index+1, the next at the element's `end`.
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& root() const { return nodes_.front(); }

  // The value of member `key` of the object at node index `object`, or -1.
  // Linear in the member count.
  std::int64_t Find(std::size_t object, std::string_view key) const;

  // The double value of a number node (finite; -0 and underflow read as 0).
  static double NumberValue(const Node& n);

  // The deepest nesting of the parsed value: 0 for a scalar, 1 for {} or
  // [], 2 for {"a":[]} ... (at most kMaxDepth).
  int depth() const { return depth_; }

  // Drops memory kept for reuse when it is larger than `max_bytes`.
  void Shrink(std::size_t max_bytes);

 private:
  friend class JsonParser;
  std::vector<Node> nodes_;
  int depth_ = 0;
  std::string unescaped_;                 // escaped strings' content
  std::vector<std::uint32_t> stack_;      // open containers (node indices)
  std::vector<std::string_view> keys_;    // duplicate check scratch
};

}  // namespace provledger::receipt

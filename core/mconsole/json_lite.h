// A very small JSON reader/writer, enough for the um-info reply (objects, arrays, strings,
// numbers, booleans, null). Not a general-purpose library: numbers are doubles, input is
// limited in depth.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace um::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  // Lookups that tolerate absence and wrong kinds (defaults returned).
  const Value& operator[](const std::string& key) const;
  std::string str(const std::string& fallback = "") const;
  double num(double fallback = 0) const;
  bool is_object() const { return kind == Kind::Object; }
  bool is_array() const { return kind == Kind::Array; }
};

Result<Value> parse(std::string_view text);
// Quotes and escapes `s` as a JSON string.
std::string quote(std::string_view s);

}  // namespace um::json

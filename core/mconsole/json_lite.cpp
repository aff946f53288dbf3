#include "core/mconsole/json_lite.h"

#include <cstdio>
#include <cstdlib>

namespace um::json {
namespace {

const Value kNull;

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Result<Value> document() {
    Value v = UM_TRY(value(0));
    skip_ws();
    if (i_ != t_.size()) return fail("trailing characters");
    return v;
  }

 private:
  Error fail(const std::string& what) {
    return Error::make(EPROTO, "invalid JSON at offset " + std::to_string(i_) + ": " + what);
  }
  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < t_.size() && t_[i_] == c) { ++i_; return true; }
    return false;
  }
  bool literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  Result<Value> value(int depth) {
    if (depth > 32) return fail("nested too deeply");
    skip_ws();
    if (i_ >= t_.size()) return fail("unexpected end");
    Value v;
    char c = t_[i_];
    if (c == '{') {
      ++i_;
      v.kind = Value::Kind::Object;
      if (eat('}')) return v;
      do {
        skip_ws();
        std::string key = UM_TRY(string());
        if (!eat(':')) return fail("expected ':'");
        v.object[key] = UM_TRY(value(depth + 1));
      } while (eat(','));
      if (!eat('}')) return fail("expected '}'");
    } else if (c == '[') {
      ++i_;
      v.kind = Value::Kind::Array;
      if (eat(']')) return v;
      do v.array.push_back(UM_TRY(value(depth + 1)));
      while (eat(','));
      if (!eat(']')) return fail("expected ']'");
    } else if (c == '"') {
      v.kind = Value::Kind::String;
      v.string = UM_TRY(string());
    } else if (literal("true") || literal("false")) {
      v.kind = Value::Kind::Bool;
      v.boolean = t_[i_ - 1] == 'e' && t_[i_ - 2] == 'u';
    } else if (literal("null")) {
    } else {
      std::string num(t_.substr(i_, 32));
      char* end = nullptr;
      v.number = strtod(num.c_str(), &end);
      if (end == num.c_str()) return fail("unexpected character");
      v.kind = Value::Kind::Number;
      i_ += static_cast<size_t>(end - num.c_str());
    }
    return v;
  }

  Result<std::string> string() {
    if (i_ >= t_.size() || t_[i_] != '"') return fail("expected a string");
    ++i_;
    std::string out;
    while (i_ < t_.size() && t_[i_] != '"') {
      char c = t_[i_++];
      if (c != '\\') { out += c; continue; }
      if (i_ >= t_.size()) break;
      char e = t_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > t_.size()) return fail("short \\u escape");
          unsigned cp = static_cast<unsigned>(strtoul(std::string(t_.substr(i_, 4)).c_str(), nullptr, 16));
          i_ += 4;
          // UTF-8 encode (surrogate pairs are not combined; fine for our own output).
          if (cp < 0x80) out += static_cast<char>(cp);
          else if (cp < 0x800) { out += static_cast<char>(0xc0 | cp >> 6); out += static_cast<char>(0x80 | (cp & 0x3f)); }
          else { out += static_cast<char>(0xe0 | cp >> 12); out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f)); out += static_cast<char>(0x80 | (cp & 0x3f)); }
          break;
        }
        default: out += e;
      }
    }
    if (i_ >= t_.size()) return fail("unterminated string");
    ++i_;
    return out;
  }

  std::string_view t_;
  size_t i_ = 0;
};

}  // namespace

const Value& Value::operator[](const std::string& key) const {
  if (kind != Kind::Object) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : it->second;
}

std::string Value::str(const std::string& fallback) const { return kind == Kind::String ? string : fallback; }
double Value::num(double fallback) const { return kind == Kind::Number ? number : fallback; }

Result<Value> parse(std::string_view text) { return Parser(text).document(); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace um::json

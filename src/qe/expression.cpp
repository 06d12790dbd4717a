#include "qe/expression.hpp"

#include <cctype>
#include <cmath>
#include <cstring>
#include <string>

#include "core/text.hpp"

namespace qecloud::qe {
namespace {

// Recursive descent: expr := term {(+|-) term}; term := power {(*|/) power};
// power := unary [^ power]; unary := [+|-] unary | primary; primary := number | '(' expr ')'.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<double> parse() {
    auto v = expr();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;  // bounds recursion on hostile input

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }

  std::optional<double> expr() {
    auto v = term();
    while (v && (peek() == '+' || peek() == '-')) {
      char op = s_[pos_++];
      auto r = term();
      if (!r) return std::nullopt;
      *v = op == '+' ? *v + *r : *v - *r;
    }
    return v;
  }

  std::optional<double> term() {
    auto v = power();
    while (v && (peek() == '*' || peek() == '/')) {
      char op = s_[pos_++];
      auto r = power();
      if (!r || (op == '/' && *r == 0)) return std::nullopt;
      *v = op == '*' ? *v * *r : *v / *r;
    }
    return v;
  }

  std::optional<double> power() {
    auto v = unary();
    if (v && peek() == '^') {
      ++pos_;
      auto r = power();
      if (!r) return std::nullopt;
      *v = std::pow(*v, *r);
    }
    return v;
  }

  std::optional<double> unary() {
    if (++depth_ > kMaxDepth) return std::nullopt;
    std::optional<double> v;
    if (peek() == '-' || peek() == '+') {
      char op = s_[pos_++];
      v = unary();
      if (v && op == '-') *v = -*v;
    } else {
      v = primary();
    }
    --depth_;
    return v;
  }

  std::optional<double> primary() {
    if (peek() == '(') {
      ++pos_;
      auto v = expr();
      if (!v || peek() != ')') return std::nullopt;
      ++pos_;
      return v;
    }
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      bool exp_sign = (c == '+' || c == '-') && pos_ > start && std::strchr("eEdD", s_[pos_ - 1]);
      if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || std::strchr("eEdD", c) || exp_sign))
        break;
      ++pos_;
    }
    return text::parse_fortran_real(s_.substr(start, pos_ - start));
  }

  std::string_view s_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::optional<double> evaluate_expression(std::string_view expr) {
  if (expr.empty() || expr.size() > 256) return std::nullopt;
  return Parser(expr).parse();
}

}  // namespace qecloud::qe

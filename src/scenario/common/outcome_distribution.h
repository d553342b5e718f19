// OutcomeDistribution: how often each outcome tag (outcome_tag.h) came up over a whole
// property run. RapidCheck's own RC_TAG groups whole test cases by their set of tags, which for
// a stateful run of dozens of ops is a list of unique sets; this counts ops instead, prints one
// line per tag, and lets the property require that every path it means to check was reached.
#pragma once

#include <cstdio>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace vmmem::scenario {

class OutcomeDistribution {
 public:
  void add(const std::string& tag) { ++counts_[tag]; }
  size_t count(const std::string& tag) const {
    auto it = counts_.find(tag);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t total() const {
    size_t sum = 0;
    for (const auto& [tag, n] : counts_)
      sum += n;
    return sum;
  }
  // The tags of `required` that never came up, in the order given.
  std::vector<std::string> missing(std::initializer_list<const char*> required) const {
    std::vector<std::string> out;
    for (const char* tag : required)
      if (count(tag) == 0) out.emplace_back(tag);
    return out;
  }
  std::vector<std::string> missing(const std::vector<std::string>& required) const {
    std::vector<std::string> out;
    for (const std::string& tag : required)
      if (count(tag) == 0) out.push_back(tag);
    return out;
  }
  // count(tag) over the total of every tag that starts with `prefix` ("Read: "): how often an
  // op of one kind took this path. 0 when no such op ran.
  double share(const std::string& tag, const std::string& prefix) const {
    size_t all = 0;
    for (auto it = counts_.lower_bound(prefix);
         it != counts_.end() && it->first.starts_with(prefix); ++it)
      all += it->second;
    return all == 0 ? 0.0 : static_cast<double>(count(tag)) / static_cast<double>(all);
  }
  // "  12.34%  1234  Alloc: ok" per tag, most frequent first.
  std::string table() const {
    std::multimap<size_t, std::string, std::greater<>> by_count;
    for (const auto& [tag, n] : counts_)
      by_count.emplace(n, tag);
    std::string out;
    const double all = static_cast<double>(total());
    for (const auto& [n, tag] : by_count) {
      char line[160];
      std::snprintf(line, sizeof line, "  %6.2f%%  %7zu  %s\n",
                    100.0 * static_cast<double>(n) / all, n, tag.c_str());
      out += line;
    }
    return out;
  }

 private:
  std::map<std::string, size_t> counts_;
};

}  // namespace vmmem::scenario

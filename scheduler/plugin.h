// Internal: the plugin framework (kube-scheduler's framework, Nova's filters and weighers). For
// each VM of a request the engine runs three phases over the plugins the Config enables:
//
//   Filter   rejects hosts the VM cannot use and names why (the first failing filter is blamed
//            in explanations). PreFilter runs once per VM before the search.
//   Score    rates each feasible host in [0, 1]; the engine sums weight x score, highest wins.
//   Reserve  claims on the chosen host what the VM needs, in the request's CycleState (so the
//            next VM of the request sees it) and in the VM's Assignment (which Commit applies).
//            Unreserve gives it back: when a later reserver refuses the host, or when a later VM
//            of the request finds no host (all or nothing). Unreserve is idempotent.
//
// A plugin is one class in one file that implements one or more phases (numa filters on cells
// and reserves them), registered by name in registry.cc; each phase is enabled separately by
// Config (filters, score_weights, reservers). The engine knows no plugin by name: what it needs
// beyond the phases (the free-memory bound that lets it skip hosts, hosts to examine first, scan
// order, default weights) plugins declare through the optional hooks below.
//
// Thread-safety: plugins are immutable after construction (all methods const) and keep no
// state between calls; per-request state lives in the CycleState and Claims the engine passes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/host_state.h"

namespace govpool::scheduler {

class Plugin {
 public:
  virtual ~Plugin() = default;
  // The name it is registered and configured by (snake_case, stable: it is in operators' flags).
  virtual std::string_view Name() const = 0;
};

// A lower bound on the free memory (limit - used, including the request's delta) of every host
// a filter accepts, and the reason it gives for the hosts below it.
struct MemoryBound {
  std::int64_t min_free_mib = 0;
  const char* reason = nullptr;
};

class FilterPlugin : public virtual Plugin {
 public:
  // Once per VM, before its search (ctx.together is reset to 1 first): may record in `ctx` what
  // the search for this VM needs. `cycle` holds the earlier VMs' claims.
  virtual void PreFilter(RequestContext& /*ctx*/, const CycleState& /*cycle*/) const {}

  // nullptr when `host` passes, else the stable reason reported in explanations (a string
  // literal: callers compare and keep the pointer).
  virtual const char* Filter(const RequestContext& ctx, const HostView& host) const = 0;

  // True when the outcome depends only on the host's class: pool, status flags, traits,
  // storage pools and dedicated departments (HostState::class_id). The scheduler then evaluates
  // it once per class and skips or counts whole classes at once.
  virtual bool ClassLevel() const { return false; }

  // Optional: a sentence for people about this filter's rejections in `ex` (its reasons'
  // counts are in ex.rejected), or "" for none. Asked for complete explanations only (refusals
  // and PlacementRequest::explain); the engine adds it to ex.notes, which Summary() shows.
  virtual std::string Explain(const RequestContext& /*ctx*/, const Explanation& /*ex*/) const {
    return {};
  }

  // The two hooks below are consulted per VM, after every PreFilter, for host-level filters
  // only (ClassLevel() false).
  //
  // Optional. When set, every host with less free memory than min_free_mib fails Filter() with
  // exactly `reason`, and memory is the first thing Filter() checks. The engine then starts its
  // scan at the first host of its free-memory index with that much room, and, when this is the
  // first host-level filter, counts the hosts below it in refusals without visiting them.
  virtual std::optional<MemoryBound> FreeMemoryBound(const RequestContext& /*ctx*/) const {
    return std::nullopt;
  }

  // Optional. True when this filter rejects every host not appended to `hosts` (host slots),
  // e.g. hard affinity: only the group members' hosts. The engine then examines just those
  // (and the hosts the request already claimed on) instead of scanning its index.
  virtual bool OnlyHosts(const RequestContext& /*ctx*/, const CycleState& /*cycle*/,
                         std::vector<std::uint32_t>& /*hosts*/) const {
    return false;
  }
};

class ScorePlugin : public virtual Plugin {
 public:
  // Rating of a feasible host for the request, in [0, 1].
  virtual double Score(const RequestContext& ctx, const HostView& host) const = 0;

  // Weight when Config::score_weights does not list the plugin; 0: off unless listed.
  virtual double DefaultWeight() const { return 0.0; }

  // Which end of the free-memory order this score favours: +1 the tightest hosts (binpack),
  // -1 the emptiest (spread), 0 neither. The engine scans emptiest-first when the weighted sum
  // over the enabled scores is negative, so the first feasible hosts are already the best.
  virtual double FreeMemoryLean() const { return 0.0; }

  // Optional: hosts (slots) this score may rate highly wherever the free-memory order puts
  // them (soft affinity: the members' hosts); the engine always examines them.
  virtual void Nominate(const RequestContext& /*ctx*/, const CycleState& /*cycle*/,
                        std::vector<std::uint32_t>& /*hosts*/) const {}
};

// One reserver's record of its claim for one VM. The engine keeps one per (VM, reserver),
// default-constructed, and hands it to Reserve and Unreserve; the reserver sets it in Reserve
// and clears it in Unreserve, which is what makes Unreserve idempotent.
struct Claim {
  bool held = false;
  std::uint32_t host = 0;  // slot of the host claimed on
};

class ReservePlugin : public virtual Plugin {
 public:
  // Claims on `view`'s host what the VM needs: adds it to the host's delta in `cycle` and
  // records it in `vm` (host_id is already set), then sets `claim`. `view` is the host as the
  // filters saw it for this VM. Returns nullptr on success, else a reason: the host cannot take
  // the VM after all; the engine then calls Unreserve on every reserver for this VM and
  // searches again without that host (blamed with the reason). A reserver that refuses must
  // leave `cycle` and `claim` unchanged.
  virtual const char* Reserve(const RequestContext& ctx, const HostView& view, CycleState& cycle,
                              Assignment& vm, Claim& claim) const = 0;

  // Gives back what Reserve claimed for `vm` (the same Assignment) and clears `claim`.
  // Idempotent: a second call, or a call with a claim Reserve never set (this reserver refused,
  // or was never asked), changes nothing.
  virtual void Unreserve(CycleState& cycle, const Assignment& vm, Claim& claim) const = 0;
};

// Post-placement utilisation of `dim` (0 cpu, 1 memory, 2 disk) in [0, 1]; -1 when the host
// has no capacity in that dimension and the request asks none of it (dimension ignored).
// Shared by the binpack, spread and balanced scores (scores/shares.cc).
double ShareAfter(const RequestContext& ctx, const HostView& host, int dim);
// Mean of ShareAfter over the dimensions not ignored; 0 when all are.
double MeanShareAfter(const RequestContext& ctx, const HostView& host);

}  // namespace govpool::scheduler

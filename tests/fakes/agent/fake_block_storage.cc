#include "tests/fakes/agent/fake_block_storage.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <utility>

namespace govpool::agent {

struct FakeBlockStorage::Block {
  std::string data;  // kBlockBytes bytes
};

namespace {

std::string Spec(const std::string& pool, const std::string& image) { return pool + "/" + image; }
std::string Spec(const std::string& pool, const std::string& image, const std::string& snap) {
  return pool + "/" + image + "@" + snap;
}

// The messages say what librbd's would: "<what>: <strerror>".
constexpr char kENOENT[] = ": No such file or directory";
constexpr char kEEXIST[] = ": File exists";
constexpr char kEROFS[] = ": Read-only file system";

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

// On the head (a watcher, read-write) or, with a snapshot name, on that snapshot (read-only,
// not a watcher). Holds the image's id: it follows a rename.
class FakeBlockStorage::Handle final : public ImageHandle {
 public:
  Handle(FakeBlockStorage* storage, std::string pool, std::uint64_t image, std::string spec,
         std::string snapshot)
      : storage_(storage),
        pool_(std::move(pool)),
        image_(image),
        spec_(std::move(spec)),
        snapshot_(std::move(snapshot)) {}
  ~Handle() override { Close().IgnoreError(); }

  Status Write(std::int64_t offset, std::string_view data) override {
    if (closed_) return FailedPrecondition("rbd write " + spec_ + ": closed");
    if (!snapshot_.empty()) return FailedPrecondition("rbd write " + spec_ + kEROFS);
    return storage_->HandleWrite(pool_, image_, offset, data);
  }
  Status Discard(std::int64_t offset, std::int64_t length) override {
    if (closed_) return FailedPrecondition("rbd discard " + spec_ + ": closed");
    if (!snapshot_.empty()) return FailedPrecondition("rbd discard " + spec_ + kEROFS);
    return storage_->HandleDiscard(pool_, image_, offset, length);
  }
  Result<std::string> Read(std::int64_t offset, std::int64_t length) override {
    if (closed_) return FailedPrecondition("rbd read " + spec_ + ": closed");
    return storage_->HandleRead(pool_, image_, snapshot_, offset, length);
  }
  Status Close() override {
    if (closed_.exchange(true)) return OkStatus();
    if (snapshot_.empty()) storage_->HandleClosed(pool_, image_);
    return OkStatus();
  }

 private:
  FakeBlockStorage* storage_;
  std::string pool_;
  std::uint64_t image_;
  std::string spec_;      // as opened, for messages
  std::string snapshot_;  // empty: the head
  std::atomic<bool> closed_ = false;
};

FakeBlockStorage::FakeBlockStorage() = default;
FakeBlockStorage::~FakeBlockStorage() = default;

// --- Test controls ---

Status FakeBlockStorage::AddPool(const std::string& name, std::int64_t capacity_bytes) {
  std::lock_guard lock(mu_);
  if (pools_.count(name) != 0) return AlreadyExists("pool " + name + " already exists");
  pools_[name].capacity_bytes = capacity_bytes;
  return OkStatus();
}

Status FakeBlockStorage::RemovePool(const std::string& name) {
  std::lock_guard lock(mu_);
  if (pools_.erase(name) == 0) return NotFound("pool " + name + " does not exist");
  return OkStatus();
}

void FakeBlockStorage::FailNext(Op op, Status status) {
  std::lock_guard lock(mu_);
  faults_[op].push_back(std::move(status));
}

void FakeBlockStorage::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
}

int FakeBlockStorage::CallCount(Op op) const {
  std::lock_guard lock(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}

// --- Helpers (mu_ held) ---

Status FakeBlockStorage::TakeFault(Op op) {
  ++calls_[op];
  auto it = faults_.find(op);
  if (it == faults_.end() || it->second.empty()) return OkStatus();
  Status s = std::move(it->second.front());
  it->second.pop_front();
  return s;
}

Result<FakeBlockStorage::Pool*> FakeBlockStorage::FindPool(const std::string& pool,
                                                           const std::string& what) {
  auto it = pools_.find(pool);
  if (it == pools_.end()) {
    return NotFound(what.empty() ? "open pool " + pool + kENOENT
                                 : what + ": open pool " + pool + kENOENT);
  }
  return &it->second;
}

Result<FakeBlockStorage::Image*> FakeBlockStorage::FindImage(const std::string& pool,
                                                             const std::string& image,
                                                             const std::string& what) {
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, what));
  auto it = p->images.find(image);
  if (it == p->images.end()) {
    return NotFound((what.empty() ? "" : what + ": ") + "rbd open " + Spec(pool, image) + kENOENT);
  }
  return &it->second;
}

Result<std::pair<const std::string*, FakeBlockStorage::Image*>> FakeBlockStorage::FindImageById(
    const std::string& pool, std::uint64_t id, const std::string& what) {
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, what));
  for (auto& [name, image] : p->images) {
    if (image.id == id) return std::make_pair(&name, &image);
  }
  return NotFound(what + ": the image was removed" + kENOENT);
}

FakeBlockStorage::Snapshot* FakeBlockStorage::FindSnapshot(Image& image,
                                                           const std::string& snapshot) {
  for (auto& s : image.snapshots) {
    if (s.name == snapshot) return &s;
  }
  return nullptr;
}

std::vector<std::string> FakeBlockStorage::ChildrenOf(const std::string& pool,
                                                      const std::string& image,
                                                      const std::string& snapshot) const {
  std::vector<std::string> children;
  for (const auto& [pool_name, p] : pools_) {
    for (const auto& [image_name, i] : p.images) {
      if (i.parent != nullptr && i.parent->pool == pool && i.parent->image == image &&
          i.parent->snapshot == snapshot) {
        children.push_back(pool_name + "/" + image_name);
      }
    }
  }
  return children;  // pools_ and images are ordered maps: already sorted
}

std::int64_t FakeBlockStorage::UsedBytes(const Pool& pool) const {
  std::set<const Block*> blocks;
  for (const auto& [name, image] : pool.images) {
    for (const auto& [index, block] : image.blocks) blocks.insert(block.get());
    for (const auto& snap : image.snapshots) {
      for (const auto& [index, block] : snap.blocks) blocks.insert(block.get());
    }
  }
  return static_cast<std::int64_t>(blocks.size()) * kBlockBytes;
}

std::string FakeBlockStorage::ReadBlock(const Image& image, const BlockMap& blocks,
                                        std::int64_t index) const {
  if (auto it = blocks.find(index); it != blocks.end()) return it->second->data;
  if (image.parent == nullptr) return "";
  const auto& ref = *image.parent;
  auto p = pools_.find(ref.pool);
  if (p == pools_.end()) return "";
  auto i = p->second.images.find(ref.image);
  if (i == p->second.images.end()) return "";
  for (const auto& snap : i->second.snapshots) {
    if (snap.name != ref.snapshot) continue;
    // Only the parent's extent at clone time shows through (the overlap).
    if (index * kBlockBytes >= snap.size_bytes) return "";
    return ReadBlock(i->second, snap.blocks, index);
  }
  return "";
}

// --- Pools ---

Result<PoolStats> FakeBlockStorage::GetPoolStats(const std::string& pool) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kGetPoolStats));
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, "ceph pool stats " + pool));
  PoolStats stats;
  stats.capacity_bytes = p->capacity_bytes;
  stats.used_bytes = UsedBytes(*p);
  stats.available_bytes = std::max<std::int64_t>(0, stats.capacity_bytes - stats.used_bytes);
  stats.used_ratio = stats.capacity_bytes > 0 ? static_cast<double>(stats.used_bytes) /
                                                    static_cast<double>(stats.capacity_bytes)
                                              : 0;
  stats.full = stats.used_bytes >= stats.capacity_bytes;
  stats.nearfull = stats.full || stats.used_ratio >= kNearfullRatio;
  return stats;
}

Result<bool> FakeBlockStorage::PoolExists(const std::string& pool) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kPoolExists));
  return pools_.count(pool) != 0;
}

// --- Images ---

Result<std::vector<std::string>> FakeBlockStorage::ListImages(const std::string& pool) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kListImages));
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, "rbd ls " + pool));
  std::vector<std::string> names;
  for (const auto& [name, image] : p->images) names.push_back(name);
  return names;
}

Result<ImageInfo> FakeBlockStorage::GetImage(const std::string& pool, const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kGetImage));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  ImageInfo info;
  info.name = image;
  info.size_bytes = i->size_bytes;
  if (i->parent != nullptr) {
    info.parent = Spec(i->parent->pool, i->parent->image, i->parent->snapshot);
  }
  return info;
}

Status FakeBlockStorage::CreateImage(const std::string& pool, const std::string& image,
                                     std::int64_t size_bytes) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kCreateImage));
  const std::string what = "rbd create " + Spec(pool, image);
  if (size_bytes < 0) return InvalidArgument(what + ": negative size");
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, ""));
  if (p->images.count(image) != 0) return AlreadyExists(what + kEEXIST);
  Image& created = p->images[image];
  created.id = ++next_image_id_;
  created.size_bytes = size_bytes;
  return OkStatus();
}

Status FakeBlockStorage::ResizeImage(const std::string& pool, const std::string& image,
                                     std::int64_t size_bytes) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kResizeImage));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (size_bytes < i->size_bytes) {
    return FailedPrecondition("rbd resize " + Spec(pool, image) + ": shrinking from " +
                              std::to_string(i->size_bytes) + " to " +
                              std::to_string(size_bytes) + " bytes is refused");
  }
  i->size_bytes = size_bytes;
  return OkStatus();
}

Status FakeBlockStorage::RemoveImage(const std::string& pool, const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kRemoveImage));
  const std::string what = "rbd remove " + Spec(pool, image);
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (i->open_handles > 0) {
    return FailedPrecondition(what + ": the image is in use (" +
                              std::to_string(i->open_handles) + " other watcher(s))");
  }
  for (const auto& snap : i->snapshots) {
    auto children = ChildrenOf(pool, image, snap.name);
    if (!children.empty()) {
      return FailedPrecondition(what + ": snapshot " + snap.name + " has clones: " +
                                Join(children));
    }
  }
  pools_[pool].images.erase(image);
  return OkStatus();
}

Status FakeBlockStorage::CloneImage(const std::string& parent_pool,
                                    const std::string& parent_image,
                                    const std::string& parent_snapshot, const std::string& pool,
                                    const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kCloneImage));
  const std::string what = "rbd clone " + Spec(parent_pool, parent_image, parent_snapshot) +
                           " -> " + Spec(pool, image);
  GP_ASSIGN_OR_RETURN(Image * parent, FindImage(parent_pool, parent_image, what));
  Snapshot* snap = FindSnapshot(*parent, parent_snapshot);
  if (snap == nullptr) return NotFound(what + kENOENT);
  if (!snap->is_protected) return FailedPrecondition(what + ": the snapshot is not protected");
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, what));
  if (p->images.count(image) != 0) return AlreadyExists(what + kEEXIST);
  Image& child = p->images[image];
  child.id = ++next_image_id_;
  child.size_bytes = snap->size_bytes;
  child.parent = std::make_unique<ParentRef>(ParentRef{parent_pool, parent_image, parent_snapshot});
  return OkStatus();
}

Status FakeBlockStorage::FlattenImage(const std::string& pool, const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kFlattenImage));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (i->parent == nullptr) return OkStatus();
  // Copy-up every block the parent shows through, into the head and (deep-flatten) into each
  // snapshot, then detach.
  const auto fill = [&](BlockMap& blocks, std::int64_t size_bytes) {
    for (std::int64_t index = 0; index * kBlockBytes < size_bytes; ++index) {
      if (blocks.count(index) != 0) continue;
      std::string data = ReadBlock(*i, blocks, index);
      if (!data.empty()) blocks[index] = std::make_shared<const Block>(Block{std::move(data)});
    }
  };
  fill(i->blocks, i->size_bytes);
  for (auto& snap : i->snapshots) fill(snap.blocks, snap.size_bytes);
  i->parent.reset();
  return OkStatus();
}

Result<std::vector<std::string>> FakeBlockStorage::ListChildren(const std::string& pool,
                                                                const std::string& image,
                                                                const std::string& snapshot) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kListChildren));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (FindSnapshot(*i, snapshot) == nullptr) {
    return NotFound("rbd snap set " + Spec(pool, image, snapshot) + kENOENT);
  }
  return ChildrenOf(pool, image, snapshot);
}

Result<std::unique_ptr<ImageHandle>> FakeBlockStorage::OpenImage(const std::string& pool,
                                                                 const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kOpenImage));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  ++i->open_handles;
  return std::unique_ptr<ImageHandle>(
      std::make_unique<Handle>(this, pool, i->id, Spec(pool, image), ""));
}

Result<std::unique_ptr<ImageHandle>> FakeBlockStorage::OpenSnapshot(const std::string& pool,
                                                                    const std::string& image,
                                                                    const std::string& snapshot) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kOpenSnapshot));
  const std::string spec = Spec(pool, image, snapshot);
  if (snapshot.empty()) return InvalidArgument("rbd open " + spec + ": no snapshot named");
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (FindSnapshot(*i, snapshot) == nullptr) return NotFound("rbd open " + spec + kENOENT);
  return std::unique_ptr<ImageHandle>(std::make_unique<Handle>(this, pool, i->id, spec, snapshot));
}

Status FakeBlockStorage::RenameImage(const std::string& pool, const std::string& from,
                                     const std::string& to) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kRenameImage));
  const std::string what = "rbd rename " + Spec(pool, from) + " -> " + Spec(pool, to);
  GP_ASSIGN_OR_RETURN(Pool * p, FindPool(pool, what));
  auto node = p->images.extract(from);
  if (node.empty()) return NotFound(what + kENOENT);
  if (p->images.count(to) != 0) {
    p->images.insert(std::move(node));
    return AlreadyExists(what + kEEXIST);
  }
  node.key() = to;
  p->images.insert(std::move(node));
  // Clones name their parent by image; Ceph links them by id, so they follow the rename.
  for (auto& [pool_name, other] : pools_) {
    for (auto& [image_name, i] : other.images) {
      if (i.parent != nullptr && i.parent->pool == pool && i.parent->image == from) {
        i.parent->image = to;
      }
    }
  }
  return OkStatus();
}

// --- Snapshots ---

Result<std::vector<SnapshotInfo>> FakeBlockStorage::ListSnapshots(const std::string& pool,
                                                                  const std::string& image) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kListSnapshots));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  std::vector<SnapshotInfo> out;
  for (const auto& s : i->snapshots) out.push_back({s.name, s.size_bytes, s.is_protected});
  return out;
}

Status FakeBlockStorage::CreateSnapshot(const std::string& pool, const std::string& image,
                                        const std::string& snapshot, bool protect) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kCreateSnapshot));
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (FindSnapshot(*i, snapshot) != nullptr) {
    return AlreadyExists("rbd snap create " + Spec(pool, image, snapshot) + kEEXIST);
  }
  i->snapshots.push_back({snapshot, i->size_bytes, protect, i->blocks});
  return OkStatus();
}

Status FakeBlockStorage::RemoveSnapshot(const std::string& pool, const std::string& image,
                                        const std::string& snapshot) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kRemoveSnapshot));
  const std::string what = "rbd snap rm " + Spec(pool, image, snapshot);
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (FindSnapshot(*i, snapshot) == nullptr) return NotFound(what + kENOENT);
  auto children = ChildrenOf(pool, image, snapshot);
  if (!children.empty()) {
    return FailedPrecondition(what + ": the snapshot has clones: " + Join(children));
  }
  std::erase_if(i->snapshots, [&](const Snapshot& s) { return s.name == snapshot; });
  return OkStatus();
}

Status FakeBlockStorage::RollbackSnapshot(const std::string& pool, const std::string& image,
                                          const std::string& snapshot) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kRollbackSnapshot));
  const std::string what = "rbd snap rollback " + Spec(pool, image, snapshot);
  GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
  if (i->open_handles > 0) {
    return FailedPrecondition(what + ": the image is in use (" +
                              std::to_string(i->open_handles) + " other watcher(s))");
  }
  Snapshot* s = FindSnapshot(*i, snapshot);
  if (s == nullptr) return NotFound(what + kENOENT);
  i->blocks = s->blocks;
  i->size_bytes = s->size_bytes;
  return OkStatus();
}

Status FakeBlockStorage::DiffIterate(const std::string& pool, const std::string& image,
                                     const std::string& from_snapshot,
                                     const std::string& to_snapshot,
                                     const std::function<Status(const Extent&)>& visit) {
  std::vector<Extent> extents;
  {
    std::lock_guard lock(mu_);
    GP_RETURN_IF_ERROR(TakeFault(Op::kDiffIterate));
    GP_ASSIGN_OR_RETURN(Image * i, FindImage(pool, image, ""));
    const BlockMap* to = &i->blocks;
    std::int64_t size = i->size_bytes;
    if (!to_snapshot.empty()) {
      const Snapshot* s = FindSnapshot(*i, to_snapshot);
      if (s == nullptr) {
        return NotFound("rbd open " + Spec(pool, image, to_snapshot) + kENOENT);
      }
      to = &s->blocks;
      size = s->size_bytes;
    }
    static const BlockMap kEmpty;
    const BlockMap* from = &kEmpty;
    if (!from_snapshot.empty()) {
      const Snapshot* s = FindSnapshot(*i, from_snapshot);
      if (s == nullptr) {
        return NotFound("rbd diff " + Spec(pool, image) + " from @" + from_snapshot + kENOENT);
      }
      from = &s->blocks;
    }
    // Blocks written (a new Block object) or dropped between the two maps, merged into runs.
    std::set<std::int64_t> indexes;
    for (const auto& [index, block] : *from) indexes.insert(index);
    for (const auto& [index, block] : *to) indexes.insert(index);
    // From the image's creation, a clone's parent data counts too (librbd's include_parent,
    // as `rbd export-diff` without --from-snap).
    std::set<std::int64_t> from_parent;
    if (from_snapshot.empty()) {
      for (const Image* img = i; img->parent != nullptr;) {
        auto p = pools_.find(img->parent->pool);
        if (p == pools_.end()) break;
        auto pi = p->second.images.find(img->parent->image);
        if (pi == p->second.images.end()) break;
        const Snapshot* ps = FindSnapshot(pi->second, img->parent->snapshot);
        if (ps == nullptr) break;
        for (const auto& [index, block] : ps->blocks) {
          if (index * kBlockBytes < ps->size_bytes && !to->count(index)) from_parent.insert(index);
        }
        img = &pi->second;
      }
      indexes.insert(from_parent.begin(), from_parent.end());
    }
    for (std::int64_t index : indexes) {
      if (index * kBlockBytes >= size) break;
      auto f = from->find(index);
      auto t = to->find(index);
      const Block* fb = f == from->end() ? nullptr : f->second.get();
      const Block* tb = t == to->end() ? nullptr : t->second.get();
      if (fb == tb && !from_parent.count(index)) continue;
      const bool exists = tb != nullptr || from_parent.count(index) > 0;
      const std::int64_t offset = index * kBlockBytes;
      const std::int64_t length = std::min(kBlockBytes, size - offset);
      if (!extents.empty() && extents.back().exists == exists &&
          extents.back().offset + extents.back().length == offset) {
        extents.back().length += length;
      } else {
        extents.push_back({offset, length, exists});
      }
    }
  }
  for (const Extent& e : extents) GP_RETURN_IF_ERROR(visit(e));  // outside the lock
  return OkStatus();
}

Result<std::vector<std::string>> FakeBlockStorage::ListTrash(const std::string& pool) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kListTrash));
  GP_RETURN_IF_ERROR(FindPool(pool, "rbd trash ls " + pool).status());
  return std::vector<std::string>{};  // nothing in the fake ever goes to the trash
}

// --- Image handles ---

Status FakeBlockStorage::ApplyBlocks(const std::string& pool, Image& image,
                                     const BlockMap& updated, const std::string& what) {
  Pool& p = pools_[pool];
  BlockMap before = image.blocks;
  for (const auto& [index, block] : updated) {
    if (block == nullptr) {
      image.blocks.erase(index);
    } else {
      image.blocks[index] = block;
    }
  }
  if (UsedBytes(p) > p.capacity_bytes) {
    image.blocks = std::move(before);
    return ResourceExhausted(what + ": Disk quota exceeded");
  }
  return OkStatus();
}

Status FakeBlockStorage::HandleWrite(const std::string& pool, std::uint64_t image,
                                     std::int64_t offset, std::string_view data) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kWrite));
  GP_ASSIGN_OR_RETURN(auto found, FindImageById(pool, image, "rbd write " + pool));
  Image* i = found.second;
  const std::string what = "rbd write " + Spec(pool, *found.first);
  const auto length = static_cast<std::int64_t>(data.size());
  if (offset < 0 || offset + length > i->size_bytes) {
    return InvalidArgument(what + ": [" + std::to_string(offset) + ", +" +
                           std::to_string(length) + ") is outside the image's " +
                           std::to_string(i->size_bytes) + " bytes");
  }
  // Build the new blocks first, so a write refused for lack of room changes nothing.
  BlockMap updated;
  for (std::int64_t pos = offset; pos < offset + length;) {
    const std::int64_t index = pos / kBlockBytes;
    const std::int64_t in_block = pos - index * kBlockBytes;
    const std::int64_t n = std::min(kBlockBytes - in_block, offset + length - pos);
    std::string block = ReadBlock(*i, i->blocks, index);
    block.resize(kBlockBytes, '\0');
    block.replace(static_cast<size_t>(in_block), static_cast<size_t>(n),
                  data.substr(static_cast<size_t>(pos - offset), static_cast<size_t>(n)));
    updated[index] = std::make_shared<const Block>(Block{std::move(block)});
    pos += n;
  }
  return ApplyBlocks(pool, *i, updated, what);
}

Status FakeBlockStorage::HandleDiscard(const std::string& pool, std::uint64_t image,
                                       std::int64_t offset, std::int64_t length) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kDiscard));
  GP_ASSIGN_OR_RETURN(auto found, FindImageById(pool, image, "rbd discard " + pool));
  Image* i = found.second;
  const std::string what = "rbd discard " + Spec(pool, *found.first);
  if (offset < 0 || length < 0 || offset + length > i->size_bytes) {
    return InvalidArgument(what + ": [" + std::to_string(offset) + ", +" +
                           std::to_string(length) + ") is outside the image's " +
                           std::to_string(i->size_bytes) + " bytes");
  }
  static const BlockMap kNoBlocks;
  BlockMap updated;  // nullptr: dropped
  for (std::int64_t pos = offset; pos < offset + length;) {
    const std::int64_t index = pos / kBlockBytes;
    const std::int64_t in_block = pos - index * kBlockBytes;
    const std::int64_t n = std::min(kBlockBytes - in_block, offset + length - pos);
    pos += n;
    const bool own = i->blocks.count(index) != 0;
    // What the parent would show once the image's own block is gone.
    const bool parent_shows = !ReadBlock(*i, kNoBlocks, index).empty();
    if (!own && !parent_shows) continue;  // reads as zeros already: nothing to free
    if (n == kBlockBytes && !parent_shows) {
      updated[index] = nullptr;
      continue;
    }
    // A partial block, or a whole one whose parent would show through: zeros written over.
    std::string block = ReadBlock(*i, i->blocks, index);
    block.resize(kBlockBytes, '\0');
    block.replace(static_cast<size_t>(in_block), static_cast<size_t>(n),
                  static_cast<size_t>(n), '\0');
    updated[index] = std::make_shared<const Block>(Block{std::move(block)});
  }
  return ApplyBlocks(pool, *i, updated, what);
}

Result<std::string> FakeBlockStorage::HandleRead(const std::string& pool, std::uint64_t image,
                                                 const std::string& snapshot,
                                                 std::int64_t offset, std::int64_t length) {
  std::lock_guard lock(mu_);
  GP_RETURN_IF_ERROR(TakeFault(Op::kRead));
  GP_ASSIGN_OR_RETURN(auto found, FindImageById(pool, image, "rbd read " + pool));
  Image* i = found.second;
  const std::string what = "rbd read " + (snapshot.empty() ? Spec(pool, *found.first)
                                                           : Spec(pool, *found.first, snapshot));
  const BlockMap* blocks = &i->blocks;
  std::int64_t size = i->size_bytes;
  if (!snapshot.empty()) {
    const Snapshot* s = FindSnapshot(*i, snapshot);
    if (s == nullptr) return NotFound(what + ": the snapshot was removed" + kENOENT);
    blocks = &s->blocks;
    size = s->size_bytes;
  }
  if (offset < 0 || length < 0 || offset + length > size) {
    return InvalidArgument(what + ": [" + std::to_string(offset) + ", +" +
                           std::to_string(length) + ") is outside the image's " +
                           std::to_string(size) + " bytes");
  }
  std::string out;
  out.reserve(static_cast<size_t>(length));
  for (std::int64_t pos = offset; pos < offset + length;) {
    const std::int64_t index = pos / kBlockBytes;
    const std::int64_t in_block = pos - index * kBlockBytes;
    const std::int64_t n = std::min(kBlockBytes - in_block, offset + length - pos);
    std::string block = ReadBlock(*i, *blocks, index);
    block.resize(kBlockBytes, '\0');
    out.append(block, static_cast<size_t>(in_block), static_cast<size_t>(n));
    pos += n;
  }
  return out;
}

void FakeBlockStorage::HandleClosed(const std::string& pool, std::uint64_t image) {
  std::lock_guard lock(mu_);
  auto found = FindImageById(pool, image, "");
  if (found.ok() && found->second->open_handles > 0) --found->second->open_handles;
}

}  // namespace govpool::agent

// govpoolctl image ...: bootable images (public ones from admins, private ones per department).
// An image is created `queued`; its data is then uploaded (PUT /v1/images/{id}/data, streamed)
// and imported by a storage agent into its pool. The server resolves an image's name for
// `show`; deletes and verify take the id, so names are resolved here.
#include <memory>

#include "cli/commands.h"

namespace govpool::cli {
namespace {

// Bytes as MiB, rounded up ("" when 0: nothing uploaded yet).
std::string Mib(std::int64_t bytes) {
  if (bytes <= 0) return "";
  return std::to_string((bytes + 1024 * 1024 - 1) / (1024 * 1024));
}

std::vector<Column<api::Image>> ImageColumns(Context& ctx) {
  using I = api::Image;
  return {
      {"ID", [](const I& i) { return i.meta.id; }},
      {"NAME", [](const I& i) { return i.name; }},
      {"DEPARTMENT", [&ctx](const I& i) { return ctx.DepartmentName(i.department_id); }},
      {"DEPARTMENT_ID", [](const I& i) { return i.department_id; }, true},
      {"VISIBILITY", [](const I& i) { return std::string(api::ToString(i.visibility)); }},
      {"FORMAT", [](const I& i) { return std::string(api::ToString(i.format)); }},
      {"SIZE_MIB", [](const I& i) { return Mib(i.size_bytes); }},
      {"POOL", [&ctx](const I& i) { return ctx.StoragePoolName(i.pool_id); }},
      {"POOL_ID", [](const I& i) { return i.pool_id; }, true},
      {"STATE", [](const I& i) { return std::string(api::ToString(i.state)); }},
      {"HOST", [&ctx](const I& i) { return ctx.HostName(i.host_id); }, true},
      {"SHA256", [](const I& i) { return i.sha256; }, true},
  };
}

struct CreateArgs {
  api::CreateImageRequest req;
  std::string department;
  std::optional<api::ImageFormat> format;
};

Status Create(Context& ctx, CreateArgs args) {
  if (!args.department.empty()) {
    GP_ASSIGN_OR_RETURN(args.req.department_id, ctx.DepartmentId(args.department));
  }
  if (args.format) args.req.format = *args.format;
  GP_ASSIGN_OR_RETURN(api::Image image, ctx.Create([&](const api::WriteOptions& w) {
    return ctx.api().CreateImage(args.req, w);
  }));
  ctx.PrintObject(image);
  return OkStatus();
}

Status List(Context& ctx) {
  GP_ASSIGN_OR_RETURN(std::vector<api::Image> items,
                      ctx.ListAll<api::Image>(
                          [&](const api::PageQuery& q) { return ctx.api().ListImages(q); },
                          api::PageQuery{}));
  ctx.PrintList(items, ImageColumns(ctx));
  return OkStatus();
}

Status Show(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(api::Image image, ctx.Retried([&] { return ctx.api().GetImage(ref); }));
  ctx.PrintObject(image);
  return OkStatus();
}

Status Delete(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ImageId(ref));
  GP_ASSIGN_OR_RETURN(std::optional<api::Image> image, ctx.api().DeleteImage(id));
  if (ctx.json()) {
    if (image) ctx.PrintObject(*image);
  } else if (image) {
    ctx.out() << "deleting image " << id << " (its storage agent removes it)\n";
  } else {
    ctx.out() << "deleted image " << id << "\n";
  }
  return OkStatus();
}

Status Verify(Context& ctx, const std::string& ref) {
  GP_ASSIGN_OR_RETURN(std::string id, ctx.ImageId(ref));
  GP_ASSIGN_OR_RETURN(api::Image image, ctx.api().VerifyImage(id));
  if (ctx.json()) {
    ctx.PrintObject(image);
  } else {
    ctx.out() << "verifying image " << id
              << " (its storage agent re-reads it; see verified_at and state in `image show`)\n";
  }
  return OkStatus();
}

}  // namespace

void AddImageCommands(CommandLine& cli) {
  Group& g = cli.AddGroup("image", "bootable images (uploaded, then imported into a storage pool)");
  {
    auto a = std::make_shared<CreateArgs>();
    g.AddCommand("create", "create an image record (queued until its data is uploaded)")
        .Arg("NAME", &a->req.name, "the image's name")
        .Option("--department", &a->department, "ID|NAME",
                "owning department (default: a public image; admins only)")
        .Choice("--format", &a->format, "the uploaded data's format (default raw)")
        .Option("--pool", &a->req.pool, "ID|NAME", "storage pool (default: the scheduler chooses)")
        .Option("--sha256", &a->req.sha256, "HEX", "expected SHA-256 of the upload; checked when given")
        .Run([a](Context& ctx) { return Create(ctx, *a); });
  }
  // `image upload ID|NAME FILE` (PUT /v1/images/{id}/data) streams the file rather than sending
  // one JSON body; it is added here with the streamed-body client (api/http_stream.h).
  g.AddCommand("list", "list the images you can see (public ones and your department's)").Run(List);
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("show", "show an image")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Show(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("delete", "delete an image no volume depends on")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Delete(ctx, *ref); });
  }
  {
    auto ref = std::make_shared<std::string>();
    g.AddCommand("verify", "ask the storage agent to re-read the image and check its hash")
        .Arg("ID|NAME", ref.get(), "the image")
        .Run([ref](Context& ctx) { return Verify(ctx, *ref); });
  }
}

}  // namespace govpool::cli

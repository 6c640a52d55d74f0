// Triton's model repository layout, DIR/<model>/<version>/model.safetensors, loaded into an
// Engine. The newest version of each model is served (Triton's default "latest 1" policy);
// loading again hot-reloads from disk: a new version folder becomes the served version and the
// previous one is unloaded once it has answered everything it accepted.
// Thread safety: one ModelRepository per server; Load/Unload serialise on a mutex.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nhits/engine.h"

namespace nhits::serve {

class ModelRepository {
 public:
  ModelRepository(Engine& engine, std::string dir, ModelOptions options)
      : engine_(engine), dir_(std::move(dir)), options_(std::move(options)) {}

  // Model names found on disk (folders holding at least one numeric version with a checkpoint)
  // and the `--model NAME=PATH` files, loaded or not.
  std::vector<std::string> Index() const;
  Status LoadAll();
  Status Load(const std::string& name);
  Status Unload(const std::string& name);
  // A single file outside the repository, served as name version 1 (`--model NAME=PATH`).
  // InvalidArgument if `name` is served already.
  Status LoadFile(const std::string& name, const std::string& path);
  // Why the last load of `name` failed ("" when it did not): the index reports it.
  std::string LoadError(const std::string& name) const;
  const std::string& dir() const { return dir_; }

 private:
  Result<std::pair<int, std::string>> Latest(const std::string& name) const;
  Status LoadLocked(const std::string& name);
  Engine& engine_;
  std::string dir_;
  ModelOptions options_;
  // mu_ serialises loads and unloads (held across the engine's slow calls); names_mu_ guards the
  // maps the index reads, so GET/POST index on an I/O thread never waits for a load.
  std::mutex mu_;
  mutable std::mutex names_mu_;
  std::map<std::string, int> served_;               // name -> version (under mu_)
  std::map<std::string, std::string> files_;        // `--model NAME=PATH` models: reloaded from PATH (names_mu_)
  std::map<std::string, std::string> load_errors_;  // name -> why its last load failed (names_mu_)
};

}  // namespace nhits::serve

#include "serve/http/model_repository.h"

#include <algorithm>
#include <filesystem>

namespace nhits::serve {
namespace fs = std::filesystem;

namespace {
bool IsVersion(const std::string& s) {
  return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos && std::stoi(s) > 0;
}
}  // namespace

std::vector<std::string> ModelRepository::Index() const {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(names_mu_);
    for (const auto& [name, path] : files_) names.push_back(name);
  }
  std::error_code ec;
  if (!dir_.empty() && fs::is_directory(dir_, ec))
    for (const auto& entry : fs::directory_iterator(dir_, ec))
      if (entry.is_directory() && Latest(entry.path().filename().string()).ok()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string ModelRepository::LoadError(const std::string& name) const {
  std::lock_guard<std::mutex> lock(names_mu_);
  const auto it = load_errors_.find(name);
  return it == load_errors_.end() ? std::string() : it->second;
}

Result<std::pair<int, std::string>> ModelRepository::Latest(const std::string& name) const {
  if (dir_.empty()) {
    std::string files;
    std::lock_guard<std::mutex> lock(names_mu_);
    for (const auto& [n, path] : files_) files += (files.empty() ? "" : ", ") + n;
    return Status::NotFound("no model '" + name + "': the server has no --model-repository, and its --model files are " +
                            (files.empty() ? "none" : files));
  }
  const fs::path model_dir = fs::path(dir_) / name;
  std::error_code ec;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." || !fs::is_directory(model_dir, ec))
    return Status::NotFound("no model '" + name + "' in repository " + dir_);
  int best = 0;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    const std::string v = entry.path().filename().string();
    if (entry.is_directory() && IsVersion(v) && fs::exists(entry.path() / "model.safetensors")) best = std::max(best, std::stoi(v));
  }
  if (best == 0)
    return Status::NotFound(model_dir.string() + " has no <version>/model.safetensors (versions are positive integers)");
  return std::make_pair(best, (model_dir / std::to_string(best) / "model.safetensors").string());
}

Status ModelRepository::LoadAll() {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec))
    return Status::NotFound("model repository " + dir_ + (std::filesystem::exists(dir_, ec) ? " is not a folder" : " does not exist"));
  const auto names = Index();
  if (names.empty()) return Status::NotFound("model repository " + dir_ + " holds no <model>/<version>/model.safetensors");
  for (const std::string& n : names)
    if (Status s = Load(n); !s.ok()) return s;
  return Status::Ok();
}

Status ModelRepository::Load(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Status s = LoadLocked(name);
  std::lock_guard<std::mutex> names_lock(names_mu_);
  if (s.ok()) {
    load_errors_.erase(name);
  } else if (s.code() != Status::Code::kNotFound) {
    load_errors_[name] = s.message();  // the index says why the model is not served
  }
  return s;
}

Status ModelRepository::LoadLocked(const std::string& name) {
  std::string file;
  {
    std::lock_guard<std::mutex> lock(names_mu_);
    if (auto f = files_.find(name); f != files_.end()) file = f->second;
  }
  if (!file.empty()) {
    if (Status s = engine_.LoadModel(name, 1, file, options_); !s.ok()) return s;
    served_[name] = 1;
    return Status::Ok();
  }
  Result<std::pair<int, std::string>> latest = Latest(name);
  if (!latest.ok()) return latest.status();
  const auto [version, path] = *latest;
  if (Status s = engine_.LoadModel(name, version, path, options_); !s.ok()) return s;
  auto it = served_.find(name);
  if (it != served_.end() && it->second != version) (void)engine_.UnloadModel(name, it->second);
  served_[name] = version;
  return Status::Ok();
}

Status ModelRepository::Unload(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  served_.erase(name);
  {
    std::lock_guard<std::mutex> names_lock(names_mu_);
    load_errors_.erase(name);
  }
  // A --model file stays known, so a later load serves it again from its path.
  return engine_.UnloadModel(name, 0);
}

Status ModelRepository::LoadFile(const std::string& name, const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  {
    std::lock_guard<std::mutex> names_lock(names_mu_);
    if (files_.count(name) != 0 || served_.count(name) != 0)
      return Status::InvalidArgument("--model " + name + "=" + path + ": a model '" + name + "' is already served" +
                                     (files_.count(name) != 0 ? " (from " + files_[name] + ")" : " (from the repository)"));
  }
  if (Status s = engine_.LoadModel(name, 1, path, options_); !s.ok()) return s;
  served_[name] = 1;
  std::lock_guard<std::mutex> names_lock(names_mu_);
  files_[name] = path;
  return Status::Ok();
}

}  // namespace nhits::serve

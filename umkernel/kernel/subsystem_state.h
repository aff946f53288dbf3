// State that belongs to one subsystem (file locks, FIFO and socket registries, inotify
// watches...) and lives exactly as long as the kernel: `kernel().state<T>()`.
//
// Each subsystem names its own struct for it (in its .cpp, or its header when others need
// it); the kernel owns one instance per struct, made on first use. Nothing is a function-local
// static: a second Kernel (a unit test) starts from nothing, and the state goes away with the
// kernel that owned it.
//
// Teardown: states are destroyed in the reverse order of their creation, after every task and
// process. A destructor that reaches for a state already destroyed gets a fresh, empty one,
// which is destroyed in turn.
#pragma once
#include <memory>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace um::kernel {

class SubsystemStates {
 public:
  SubsystemStates() = default;
  SubsystemStates(const SubsystemStates&) = delete;
  SubsystemStates& operator=(const SubsystemStates&) = delete;
  ~SubsystemStates() { clear(); }

  template <class T>
  T& get() {
    static_assert(std::is_class_v<T> && std::is_default_constructible_v<T>,
                  "a subsystem's state is a struct of its own (not a bare container: two "
                  "subsystems could name the same type)");
    auto it = by_type_.find(typeid(T));
    if (it != by_type_.end()) return *static_cast<T*>(it->second->get());
    auto holder = std::make_unique<Typed<T>>();  // T's constructor may make other states first
    T& value = holder->value;
    by_type_[typeid(T)] = holder.get();
    order_.push_back({typeid(T), std::move(holder)});
    return value;
  }

  // Whether T has been made (and not yet destroyed).
  template <class T>
  bool has() const { return by_type_.count(typeid(T)) != 0; }

  size_t size() const { return order_.size(); }

  // Destroys every state, newest first.
  void clear() {
    while (!order_.empty()) {
      auto last = std::move(order_.back());
      order_.pop_back();
      by_type_.erase(last.first);
      last.second.reset();
    }
  }

 private:
  struct Holder {
    virtual ~Holder() = default;
    virtual void* get() = 0;
  };
  template <class T>
  struct Typed final : Holder {
    T value{};
    void* get() override { return &value; }
  };
  std::unordered_map<std::type_index, Holder*> by_type_;
  std::vector<std::pair<std::type_index, std::unique_ptr<Holder>>> order_;
};

}  // namespace um::kernel

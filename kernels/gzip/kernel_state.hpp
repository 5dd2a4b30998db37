// Where a kernel process keeps the state it carries from one chunk of input to the next
// (hash table, window, symbol buffer). For HLS synthesis it is a function-local static: one
// set of BRAM/URAM per process. On the host the same source runs on several threads at
// once, so each thread gets its own copy, allocated on the heap on its first call and
// freed when the thread ends: nothing is shared between threads, and nothing large sits on
// a worker thread's stack or in its static TLS block (a few hundred KiB of TLS per thread
// would also be reserved in every thread of the process, and can make dlopen fail).
#pragma once

#ifdef __SYNTHESIS__

#define GZK_STATE(Type, name) static Type name

#else

#include <memory>

namespace gzk {

// T may be an array type (one memory of a process, declared on its own so that its
// BIND_STORAGE and ARRAY_PARTITION pragmas name a variable).
template <class T>
struct StateHolder {
  T value;
};

// Tag tells apart two variables of one type (a type local to the declaring function).
template <class T, class Tag = void>
T& thread_state() {
  thread_local std::unique_ptr<StateHolder<T>> state;
  if (!state) state.reset(new StateHolder<T>());
  return state->value;
}

}  // namespace gzk

#define GZK_STATE(Type, name) \
  struct name##_state_tag {};  \
  Type& name = ::gzk::thread_state<Type, name##_state_tag>()

#endif

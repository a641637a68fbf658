;; A hand-written B2B action component (assembled by tests/build.rs with
;; wit-component against wit/b2b.wit): what no Rust plugin can be, a module
;; with several linear memories.
(module
  (memory (export "memory") 1)
  (memory $m1 4000)
  (memory $m2 4000)
  (memory $m3 4000)
  (memory $m4 4000)
  (memory $m5 4000)
  (memory $m6 4000)
  (memory $m7 4000)
  (memory $m8 4000)
  (memory $m9 4000)
  (memory $m10 4000)
  (memory $m11 4000)
  (memory $m12 4000)
  (memory $m13 4000)
  (memory $m14 4000)
  (memory $m15 4000)
  ;; A bump allocator: enough for the host to lower a run's parameters.
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $at i32)
    (local.set $at
      (i32.and
        (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get 2))))
    (global.set $heap (i32.add (local.get $at) (local.get 3)))
    (local.get $at))
  (data (i32.const 64) "many-memories")
  (data (i32.const 80) "Many Memories")
  (data (i32.const 96) "0.1.0")
  (data (i32.const 112) "Test fixture: 16 memories of 250 MiB.")
  ;; The descriptor: id, name, version, description (pointer, length each)
  ;; and no parameters.
  (data (i32.const 1024) "\40\00\00\00\0d\00\00\00\50\00\00\00\0d\00\00\00\60\00\00\00\05\00\00\00\70\00\00\00\25\00\00\00\00\00\00\00\00\00\00\00")
  ;; An ok report with nothing counted, summarised by the id.
  (data (i32.const 2048) "\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\40\00\00\00\0d\00\00\00")
  (func (export "describe") (result i32) (i32.const 1024))
  (func (export "run") (param i32 i32) (result i32)
    ;; Never reached: instantiating it is what the host must refuse.
    (i32.const 2048))
)

;; The CSV scanner's structural index (csv-index.ts): the offset of every byte that can end a
;; field or start a quote (comma, double quote, LF, CR), found sixteen bytes at a time.
(module
  (memory (export "memory") 1)

  ;; index(n, out) -> count: the bytes are at [0, n), padded with zeros to a multiple of 16;
  ;; each structural byte's offset is written as an i32 from `out` on; returns how many.
  (func (export "index") (param $n i32) (param $out i32) (result i32)
    (local $p i32)
    (local $w i32)
    (local $mask i32)
    (local $v v128)
    (local.set $w (local.get $out))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $p) (local.get $n)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $mask
          (i8x16.bitmask
            (v128.or
              (v128.or
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x2c)))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22))))
              (v128.or
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0a)))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x0d)))))))
        (block $bits
          (loop $each
            (br_if $bits (i32.eqz (local.get $mask)))
            (i32.store (local.get $w) (i32.add (local.get $p) (i32.ctz (local.get $mask))))
            (local.set $w (i32.add (local.get $w) (i32.const 4)))
            (local.set $mask (i32.and (local.get $mask) (i32.sub (local.get $mask) (i32.const 1))))
            (br $each)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $blocks)))
    (i32.shr_u (i32.sub (local.get $w) (local.get $out)) (i32.const 2)))
)

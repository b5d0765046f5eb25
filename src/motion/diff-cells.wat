;; The detector's hot loop in WebAssembly SIMD, 8 cells per step: sums each 2x2 block of an 8-bit frame into a
;; cell (0..1020), subtracts the cell's reference (the previous frame's sum), stores the new sum as the reference,
;; and lists the cells whose |difference| reaches `gate`: cell index (i32), signed difference (i16) and the cell's
;; learned noise before this frame (i16), so a change is judged against the noise of the frames before it.
;; It also keeps each cell's learned noise: a running mean of min(|difference|, `cap`), times 16 (i16), moved a
;; 2^-`shift` step towards this frame's value (rounded), so foliage and sensor noise raise their own cells' bar.
;; Returns how many cells it listed. Everything after that (masks, thresholds, despeckling) stays in TypeScript.
;; Built into diff-cells.wasm.ts by `npm run build:wasm` (scripts/build-wasm.ts); a test keeps the two in step.
(module
  (memory (export "memory") 1)
  (func (export "diffCells")
    (param $frame i32) (param $width i32) (param $gw i32) (param $gh i32) (param $ref i32) (param $gate i32)
    (param $outIdx i32) (param $outDiff i32) (param $scratch i32)
    (param $noise i32) (param $cap i32) (param $shift i32) (param $outNoise i32)
    (result i32)
    (local $y i32) (local $x i32) (local $top i32) (local $bottom i32) (local $cell i32) (local $r i32)
    (local $count i32) (local $s v128) (local $d v128) (local $gatev v128) (local $lane i32) (local $dv i32)
    (local $vecEnd i32) (local $sum i32)
    (local $n i32) (local $nv v128) (local $capv v128) (local $halfv v128) (local $half i32) (local $a i32) (local $old i32)
    (local.set $gatev (i16x8.splat (local.get $gate)))
    (local.set $capv (i16x8.splat (local.get $cap)))
    (local.set $half (i32.shr_u (i32.shl (i32.const 1) (local.get $shift)) (i32.const 1)))
    (local.set $halfv (i16x8.splat (local.get $half)))
    (local.set $vecEnd (i32.and (local.get $gw) (i32.const -8)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $y) (local.get $gh)))
        (local.set $top (i32.add (local.get $frame) (i32.mul (i32.shl (local.get $y) (i32.const 1)) (local.get $width))))
        (local.set $bottom (i32.add (local.get $top) (local.get $width)))
        (local.set $cell (i32.mul (local.get $y) (local.get $gw)))
        (local.set $x (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $x) (local.get $vecEnd)))
            (local.set $s (i16x8.add
              (i16x8.extadd_pairwise_i8x16_u (v128.load align=1 (local.get $top)))
              (i16x8.extadd_pairwise_i8x16_u (v128.load align=1 (local.get $bottom)))))
            (local.set $r (i32.add (local.get $ref) (i32.shl (local.get $cell) (i32.const 1))))
            (local.set $d (i16x8.sub (local.get $s) (v128.load align=2 (local.get $r))))
            (v128.store align=2 (local.get $r) (local.get $s))
            (local.set $n (i32.add (local.get $noise) (i32.shl (local.get $cell) (i32.const 1))))
            (local.set $nv (v128.load align=2 (local.get $n)))
            (v128.store align=2 (local.get $n) (i16x8.add (local.get $nv) (i16x8.shr_s
              (i16x8.add_sat_s (local.get $halfv)
                (i16x8.sub_sat_s (i16x8.shl (i16x8.min_s (i16x8.abs (local.get $d)) (local.get $capv)) (i32.const 4))
                  (local.get $nv)))
              (local.get $shift))))
            (if (v128.any_true (i16x8.ge_s (i16x8.abs (local.get $d)) (local.get $gatev)))
              (then
                (v128.store (local.get $scratch) (local.get $d))
                (v128.store offset=16 (local.get $scratch) (local.get $nv))
                (local.set $lane (i32.const 0))
                (loop $lanes
                  (local.set $dv (i32.load16_s (i32.add (local.get $scratch) (i32.shl (local.get $lane) (i32.const 1)))))
                  (if (i32.or (i32.ge_s (local.get $dv) (local.get $gate)) (i32.le_s (local.get $dv) (i32.sub (i32.const 0) (local.get $gate))))
                    (then
                      (i32.store (i32.add (local.get $outIdx) (i32.shl (local.get $count) (i32.const 2))) (i32.add (local.get $cell) (local.get $lane)))
                      (i32.store16 (i32.add (local.get $outDiff) (i32.shl (local.get $count) (i32.const 1))) (local.get $dv))
                      (i32.store16 (i32.add (local.get $outNoise) (i32.shl (local.get $count) (i32.const 1)))
                        (i32.load16_s offset=16 (i32.add (local.get $scratch) (i32.shl (local.get $lane) (i32.const 1)))))
                      (local.set $count (i32.add (local.get $count) (i32.const 1)))))
                  (local.set $lane (i32.add (local.get $lane) (i32.const 1)))
                  (br_if $lanes (i32.lt_u (local.get $lane) (i32.const 8))))))
            (local.set $top (i32.add (local.get $top) (i32.const 16)))
            (local.set $bottom (i32.add (local.get $bottom) (i32.const 16)))
            (local.set $cell (i32.add (local.get $cell) (i32.const 8)))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $vec)))
        ;; Cells left over when the grid width is not a multiple of 8.
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $x) (local.get $gw)))
            (local.set $sum (i32.add
              (i32.add (i32.load8_u (local.get $top)) (i32.load8_u offset=1 (local.get $top)))
              (i32.add (i32.load8_u (local.get $bottom)) (i32.load8_u offset=1 (local.get $bottom)))))
            (local.set $r (i32.add (local.get $ref) (i32.shl (local.get $cell) (i32.const 1))))
            (local.set $dv (i32.sub (local.get $sum) (i32.load16_u (local.get $r))))
            (i32.store16 (local.get $r) (local.get $sum))
            (local.set $n (i32.add (local.get $noise) (i32.shl (local.get $cell) (i32.const 1))))
            (local.set $old (i32.load16_s (local.get $n)))
            (local.set $a (select (i32.sub (i32.const 0) (local.get $dv)) (local.get $dv) (i32.lt_s (local.get $dv) (i32.const 0))))
            (local.set $a (select (local.get $cap) (local.get $a) (i32.gt_s (local.get $a) (local.get $cap))))
            (i32.store16 (local.get $n) (i32.add (local.get $old) (i32.shr_s
              (i32.add (local.get $half) (i32.sub (i32.shl (local.get $a) (i32.const 4)) (local.get $old)))
              (local.get $shift))))
            (if (i32.or (i32.ge_s (local.get $dv) (local.get $gate)) (i32.le_s (local.get $dv) (i32.sub (i32.const 0) (local.get $gate))))
              (then
                (i32.store (i32.add (local.get $outIdx) (i32.shl (local.get $count) (i32.const 2))) (local.get $cell))
                (i32.store16 (i32.add (local.get $outDiff) (i32.shl (local.get $count) (i32.const 1))) (local.get $dv))
                (i32.store16 (i32.add (local.get $outNoise) (i32.shl (local.get $count) (i32.const 1))) (local.get $old))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))))
            (local.set $top (i32.add (local.get $top) (i32.const 2)))
            (local.set $bottom (i32.add (local.get $bottom) (i32.const 2)))
            (local.set $cell (i32.add (local.get $cell) (i32.const 1)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $tail)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rows)))
    (local.get $count))
)

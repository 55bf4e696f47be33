# SPDX-License-Identifier: Apache-2.0
# Plots for docs/performance.md, drawn from the data files ampvq_bench
# --plot DIR writes into DIR/data (tput-<impl>-b<batch>-q<len>.dat: payload, Mmsg/s, ratio;
# tput-<impl>-b<batch>-p<payload>.dat: queue_len, Mmsg/s, ratio).
# ampvq_bench calls: gnuplot -e "dir=...; impls=...; batched=...; batch=N;
#   payloads=...; qlens=...; machine=..." bench/plot.gp
set terminal pngcairo size 1400,520 font ",10" noenhanced
set logscale x 2
set grid
set key top right
set style data linespoints

nq = words(qlens)
np = words(payloads)
nb = words(batched)
file_q(impl, b, q) = sprintf('%s/data/tput-%s-b%d-q%s.dat', dir, impl, b, q)
file_p(impl, b, p) = sprintf('%s/data/tput-%s-b%d-p%s.dat', dir, impl, b, p)

# Throughput against payload, one panel per queue length.
set output dir.'/throughput-payload.png'
set multiplot layout 1, nq title 'Throughput against payload (producer CPU 0 fills, consumer CPU 1 checks every byte) - '.machine
set xlabel 'payload, bytes'
set ylabel 'million messages per second'
set logscale y 10
do for [qi=1:nq] {
    q = word(qlens, qi)
    set title 'queue length '.q
    plot for [i=1:words(impls)] file_q(word(impls, i), 1, q) using 1:2 title word(impls, i) lw 2, \
         for [i=1:nb] file_q(word(batched, i), batch, q) using 1:2 title word(batched, i).' (batch '.batch.')' dt 2 lw 2
}
unset multiplot
unset logscale y

# The same as ratios to the ring measured next to each value.
set output dir.'/ratio-payload.png'
set multiplot layout 1, nq title 'Throughput as a ratio to the plain ring in the same round (median of per-round ratios) - '.machine
set ylabel 'ratio to ring'
do for [qi=1:nq] {
    q = word(qlens, qi)
    set title 'queue length '.q
    # batched: the ring first, then the batching implementations, if any
    # (an empty plot iteration still opens a file in gnuplot 5.4).
    if (nb > 1) {
        plot for [i=1:words(impls)] file_q(word(impls, i), 1, q) using 1:3 title word(impls, i) lw 2, \
             for [i=2:nb] file_q(word(batched, i), batch, q) using 1:3 title word(batched, i).' vs ring batch '.batch dt 2 lw 2, \
             1 notitle dt 3 lc rgb 'black'
    } else {
        plot for [i=1:words(impls)] file_q(word(impls, i), 1, q) using 1:3 title word(impls, i) lw 2, \
             1 notitle dt 3 lc rgb 'black'
    }
}
unset multiplot

# Throughput against queue length, one panel per payload.
set terminal pngcairo size 1400,420 font ",10" noenhanced
set output dir.'/throughput-qlen.png'
set multiplot layout 1, np title 'Throughput against queue length - '.machine
set xlabel 'queue length, slots'
set ylabel 'million messages per second'
set logscale y 10
do for [pi=1:np] {
    p = word(payloads, pi)
    set title 'payload '.p.' B'
    plot for [i=1:words(impls)] file_p(word(impls, i), 1, p) using 1:2 title word(impls, i) lw 2, \
         for [i=1:nb] file_p(word(batched, i), batch, p) using 1:2 title word(batched, i).' (b'.batch.')' dt 2 lw 2
}
unset multiplot

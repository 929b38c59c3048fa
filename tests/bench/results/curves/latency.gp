set datafile missing 'NaN'
set terminal pngcairo size 1500,520 font 'Sans,10'
set output '/work/wt-perf/tests/bench/results/latency.png'
set multiplot layout 1,3 title 'formance-grpc-gateway vs direct REST: GetAccount, 2 shared cores, nginx upstream on 127.0.0.1'
set logscale x 10
set logscale y 10
set grid
set format y '%g'
set xlabel 'percentile'
set ylabel 'latency (us)'
set xtics ('0' 1, '50' 2, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000)
set key top left
set xrange [1:100000]
set title 'latency percentiles, concurrency 1'
plot '/work/wt-perf/tests/bench/results/curves/direct-account-1.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#1b9e77' title 'direct', '/work/wt-perf/tests/bench/results/curves/hop-account-1.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#7570b3' title 'hop', '/work/wt-perf/tests/bench/results/curves/gateway-account-1.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#d95f02' title 'gateway', '/work/wt-perf/tests/bench/results/curves/node-sdk-account-1.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#666666' title 'node-sdk', '/work/wt-perf/tests/bench/results/curves/node-grpc-account-1.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#e7298a' title 'node-grpc'
set title 'latency percentiles, concurrency 64'
plot '/work/wt-perf/tests/bench/results/curves/direct-account-64.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#1b9e77' title 'direct', '/work/wt-perf/tests/bench/results/curves/hop-account-64.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#7570b3' title 'hop', '/work/wt-perf/tests/bench/results/curves/gateway-account-64.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#d95f02' title 'gateway', '/work/wt-perf/tests/bench/results/curves/node-sdk-account-64.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#666666' title 'node-sdk', '/work/wt-perf/tests/bench/results/curves/node-grpc-account-64.dat' using ($1 < 100 ? 1/(1-$1/100) : NaN):2 with lines lw 2 lc rgb '#e7298a' title 'node-grpc'
unset logscale y
set logscale x 2
set xrange [*:*]
set xtics auto
set format x '%g'
set xlabel 'concurrency (calls in flight)'
set ylabel 'calls/s'
set yrange [0:*]
set title 'throughput vs concurrency'
set key bottom right
plot '/work/wt-perf/tests/bench/results/curves/sweep.dat' using 1:2 with linespoints lw 2 pt 7 lc rgb '#1b9e77' title 'direct', '/work/wt-perf/tests/bench/results/curves/sweep.dat' using 1:3 with linespoints lw 2 pt 7 lc rgb '#7570b3' title 'hop', '/work/wt-perf/tests/bench/results/curves/sweep.dat' using 1:4 with linespoints lw 2 pt 7 lc rgb '#d95f02' title 'gateway', '/work/wt-perf/tests/bench/results/curves/sweep.dat' using 1:5 with linespoints lw 2 pt 7 lc rgb '#666666' title 'node-sdk', '/work/wt-perf/tests/bench/results/curves/sweep.dat' using 1:6 with linespoints lw 2 pt 7 lc rgb '#e7298a' title 'node-grpc'
unset multiplot

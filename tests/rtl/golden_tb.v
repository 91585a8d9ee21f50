// Testbench: replays the golden vectors of //emulator:golden_tile through
// the periphery model of cim_periphery.v and checks every intermediate bit
// for bit: tile outputs (§6.1), row-tile accumulations (§6.3), the
// requantizer's t and the uint output (§7.2-7.3). Parameters come from the
// set's golden_params.vh (compile with -I DIR); the folder from +dir=DIR.
// Prints "PASS ..." or "FAIL: ..." with the first mismatch's coordinates
// and stops with $fatal (nonzero exit).
`timescale 1ns / 1ps
`include "golden_params.vh"
`ifndef GV_OUT_SIGNED
`define GV_OUT_SIGNED 0
`endif

module golden_tb;
  localparam T = `GV_T, B = `GV_B, N = `GV_N, P = `GV_P, J = `GV_J;
  localparam K = `GV_K, D = `GV_D, W = `GV_W, ADC_W = `GV_ADC_W;
  localparam ADC_SIGNED = `GV_ADC_SIGNED, PRE_SHIFT = `GV_PRE_SHIFT, OUT_BITS = `GV_OUT_BITS;
  localparam NC = N * P;

  reg [ADC_W-1:0]    adc_mem   [0:T*B*J*2*NC-1];
  reg [W-1:0]        ytile_mem [0:T*B*N-1];
  reg [W-1:0]        acc_mem   [0:T*B*N-1];
  reg [31:0]         bias_mem  [0:N-1];
  reg [31:0]         mult_mem  [0:N-1];
  reg [7:0]          shift_mem [0:N-1];
  reg [31:0]         t_mem     [0:B*N-1];
  reg [OUT_BITS-1:0] out_mem   [0:B*N-1];

  reg clk = 0;
  reg start = 0, valid = 0, neg = 0;
  reg [ADC_W-1:0] code = 0;
  reg [5:0] cell_idx = 0, slice_idx = 0;
  wire signed [W-1:0] y;
  wire y_sat;
  cim_shift_add #(.ADC_W(ADC_W), .ADC_SIGNED(ADC_SIGNED), .K(K), .D(D), .SEL_W(6), .W(W)) dut_sa (
      .clk(clk), .start(start), .valid(valid), .code(code), .neg(neg), .cell_idx(cell_idx), .slice_idx(slice_idx),
      .y(y), .saturated(y_sat));

  reg acc_clear = 0, acc_valid = 0;
  wire signed [W-1:0] acc;
  wire acc_sat;
  cim_row_accumulate #(.W(W)) dut_acc (
      .clk(clk), .clear(acc_clear), .valid(acc_valid), .y_tile(y), .acc(acc), .saturated(acc_sat));

  reg signed [31:0] bias = 0, mult = 0;
  reg [5:0] shift = 0;
  wire signed [31:0] rq_t;
  wire [OUT_BITS-1:0] rq_y;
  wire sat_t, sat_y;
  cim_requantize #(.W(W), .OUT_BITS(OUT_BITS), .OUT_SIGNED(`GV_OUT_SIGNED)) dut_rq (
      .acc(acc), .pre_shift(PRE_SHIFT[5:0]), .bias(bias), .mult(mult), .shift(shift),
      .t(rq_t), .y(rq_y), .sat_t(sat_t), .sat_y(sat_y));

  task tick;
    begin
      #1 clk = 1;
      #1 clk = 0;
    end
  endtask

  reg [8*1024-1:0] dir, fname;
  integer t, b, n, a, i, j, idx, checks;

  task load_all;
    begin
      $sformat(fname, "%0s/adc.hex", dir);    $readmemh(fname, adc_mem);
      $sformat(fname, "%0s/tile_y.hex", dir); $readmemh(fname, ytile_mem);
      $sformat(fname, "%0s/acc.hex", dir);    $readmemh(fname, acc_mem);
      $sformat(fname, "%0s/bias.hex", dir);   $readmemh(fname, bias_mem);
      $sformat(fname, "%0s/mult.hex", dir);   $readmemh(fname, mult_mem);
      $sformat(fname, "%0s/shift.hex", dir);  $readmemh(fname, shift_mem);
      $sformat(fname, "%0s/req_t.hex", dir);  $readmemh(fname, t_mem);
      $sformat(fname, "%0s/out.hex", dir);    $readmemh(fname, out_mem);
    end
  endtask

  initial begin
    if (!$value$plusargs("dir=%s", dir)) begin
      $display("FAIL: missing +dir=GOLDEN_DIR");
      $fatal(1);
    end
    load_all;
    checks = 0;
    for (n = 0; n < N; n = n + 1) begin
      for (b = 0; b < B; b = b + 1) begin
        acc_clear = 1; tick; acc_clear = 0;
        for (t = 0; t < T; t = t + 1) begin
          // Feed the 2 x P x J codes of output n, input b, row tile t.
          for (a = 0; a < 2; a = a + 1)
            for (i = 0; i < P; i = i + 1)
              for (j = 0; j < J; j = j + 1) begin
                idx = (((t * B + b) * J + j) * 2 + a) * NC + n * P + i;
                start = (a == 0 && i == 0 && j == 0);
                valid = 1; neg = a; cell_idx = i; slice_idx = j; code = adc_mem[idx];
                if (^code === 1'bx) begin
                  $display("FAIL: adc.hex has no value at line %0d (t=%0d b=%0d j=%0d a=%0d c=%0d)",
                           idx, t, b, j, a, n * P + i);
                  $fatal(1);
                end
                tick;
              end
          start = 0; valid = 0;
          #1;
          idx = (t * B + b) * N + n;
          checks = checks + 1;
          if (y !== ytile_mem[idx]) begin
            $display("FAIL: tile_y mismatch at t=%0d b=%0d n=%0d (line %0d): rtl %h golden %h",
                     t, b, n, idx, y, ytile_mem[idx]);
            $fatal(1);
          end
          acc_valid = 1; tick; acc_valid = 0;
          #1;
          checks = checks + 1;
          if (acc !== acc_mem[idx]) begin
            $display("FAIL: acc mismatch at t=%0d b=%0d n=%0d (line %0d): rtl %h golden %h",
                     t, b, n, idx, acc, acc_mem[idx]);
            $fatal(1);
          end
        end
        bias = bias_mem[n]; mult = mult_mem[n]; shift = shift_mem[n][5:0];
        #1;
        idx = b * N + n;
        checks = checks + 2;
        if (rq_t !== t_mem[idx]) begin
          $display("FAIL: req_t mismatch at b=%0d n=%0d (line %0d): rtl %h golden %h",
                   b, n, idx, rq_t, t_mem[idx]);
          $fatal(1);
        end
        if (rq_y !== out_mem[idx]) begin
          $display("FAIL: out mismatch at b=%0d n=%0d (line %0d): rtl %h golden %h",
                   b, n, idx, rq_y, out_mem[idx]);
          $fatal(1);
        end
      end
    end
    $display("PASS: %0d checks (T=%0d B=%0d N=%0d P=%0d J=%0d W=%0d ADC_W=%0d)",
             checks, T, B, N, P, J, W, ADC_W);
    $finish;
  end
endmodule

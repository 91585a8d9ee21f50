`timescale 1ns / 1ps
// Digital periphery of the NVCIM tile (docs/hardware-spec.md §6, §7.2-7.3),
// synthesizable style: the modules an RTL implementation is checked
// against with the golden vectors of //emulator:golden_tile.

// §6.1: shift-and-add of one output's ADC codes. One code per clock while
// `valid`: code of array `neg` (0 = positive, 1 = negative), cell_idx `cell_idx`
// (significance 2^(K cell_idx)) and slice_idx `slice_idx` (2^(D slice_idx)). `start`
// clears the sum (and may come with the first code). `y` = Sat_W(sum),
// combinational from the register.
module cim_shift_add #(
    parameter ADC_W = 8,       // ADC code width
    parameter ADC_SIGNED = 1,  // 1: two's complement codes, 0: unsigned
    parameter K = 2,           // cell_idx bits
    parameter D = 1,           // DAC bits
    parameter SEL_W = 6,       // width of cell_idx / slice_idx indices
    parameter SUM_W = 64,      // exact internal sum (spec: int64)
    parameter W = 64           // accumulator width
) (
    input  wire                    clk,
    input  wire                    start,
    input  wire                    valid,
    input  wire [ADC_W-1:0]        code,
    input  wire                    neg,
    input  wire [SEL_W-1:0]        cell_idx,
    input  wire [SEL_W-1:0]        slice_idx,
    output wire signed [W-1:0]     y,
    output wire                    saturated
);
  wire signed [SUM_W-1:0] ext =
      ADC_SIGNED ? {{(SUM_W-ADC_W){code[ADC_W-1]}}, code} : {{(SUM_W-ADC_W){1'b0}}, code};
  wire [SEL_W+7:0] amount = K * cell_idx + D * slice_idx;
  wire signed [SUM_W-1:0] term = ext <<< amount;
  reg  signed [SUM_W-1:0] sum;
  wire signed [SUM_W-1:0] base = start ? {SUM_W{1'b0}} : sum;
  always @(posedge clk) begin
    if (valid) sum <= neg ? base - term : base + term;
    else if (start) sum <= {SUM_W{1'b0}};
  end
  cim_sat #(.IN_W(SUM_W), .OUT_W(W)) sat_y (.x(sum), .y(y), .saturated(saturated));
endmodule

// Sat_OUT_W of a signed IN_W-bit value (OUT_W <= IN_W).
module cim_sat #(
    parameter IN_W = 65,
    parameter OUT_W = 64
) (
    input  wire signed [IN_W-1:0]  x,
    output wire signed [OUT_W-1:0] y,
    output wire                    saturated
);
  generate
    if (OUT_W >= IN_W) begin : g_pass
      assign y = x;
      assign saturated = 1'b0;
    end else begin : g_sat
      // In range iff the bits above OUT_W-1 are copies of bit OUT_W-1.
      wire [IN_W-OUT_W:0] top = x[IN_W-1:OUT_W-1];
      wire ok = (top == {(IN_W-OUT_W+1){1'b0}}) || (top == {(IN_W-OUT_W+1){1'b1}});
      assign saturated = !ok;
      assign y = ok ? x[OUT_W-1:0]
                    : (x[IN_W-1] ? {1'b1, {(OUT_W-1){1'b0}}} : {1'b0, {(OUT_W-1){1'b1}}});
    end
  endgenerate
endmodule

// §6.3: acc_{t+1} = Sat_W(acc_t + y_tile_t), the exact W+1-bit sum saturated.
module cim_row_accumulate #(
    parameter W = 64
) (
    input  wire                clk,
    input  wire                clear,   // acc <= 0
    input  wire                valid,   // acc <= Sat_W(acc + y_tile)
    input  wire signed [W-1:0] y_tile,
    output reg  signed [W-1:0] acc,
    output wire                saturated  // of the pending addition
);
  wire signed [W:0] sum = {acc[W-1], acc} + {y_tile[W-1], y_tile};
  wire signed [W-1:0] next;
  cim_sat #(.IN_W(W+1), .OUT_W(W)) sat_acc (.x(sum), .y(next), .saturated(saturated));
  always @(posedge clk) begin
    if (clear) acc <= {W{1'b0}};
    else if (valid) acc <= next;
  end
endmodule

// round_half_up(x / 2^s) = (x >>> s) + bit s-1 of x; x for s = 0 (§1.2).
// Never overflows: the result fits X_W bits.
module cim_round_shift #(
    parameter X_W = 64
) (
    input  wire signed [X_W-1:0] x,
    input  wire [5:0]            s,
    output wire signed [X_W-1:0] y
);
  wire signed [X_W-1:0] q = x >>> s;
  wire round_bit = (s == 6'd0) ? 1'b0 : x[s - 6'd1];
  assign y = q + {{(X_W-1){1'b0}}, round_bit};
endmodule

// §7.2 + §7.3, combinational:
//   t = Sat_32(Sat_64(RoundHalfUpShift(acc, p) + bias))
//   y = Clamp(RoundHalfUpShift(t * m, s), 0, 2^OUT_BITS - 1)   (ReLU to uint)
//   or, OUT_SIGNED = 1 (no ReLU, e.g. the int32 logits of §7.9):
//   y = Clamp(RoundHalfUpShift(t * m, s), -2^(OUT_BITS-1), 2^(OUT_BITS-1) - 1)
module cim_requantize #(
    parameter W = 64,
    parameter OUT_BITS = 8,
    parameter OUT_SIGNED = 0
) (
    input  wire signed [W-1:0]        acc,
    input  wire [5:0]                 pre_shift,
    input  wire signed [31:0]         bias,
    input  wire signed [31:0]         mult,
    input  wire [5:0]                 shift,
    output wire signed [31:0]         t,
    output wire [OUT_BITS-1:0]        y,
    output wire                       sat_t,
    output wire                       sat_y
);
  wire signed [63:0] acc64 = {{(64-W){acc[W-1]}}, acc};
  wire signed [63:0] shifted;
  cim_round_shift #(.X_W(64)) pre (.x(acc64), .s(pre_shift), .y(shifted));
  wire signed [64:0] biased = {shifted[63], shifted} + {{33{bias[31]}}, bias};
  wire signed [63:0] b64;
  wire s1, s2;
  cim_sat #(.IN_W(65), .OUT_W(64)) sat64 (.x(biased), .y(b64), .saturated(s1));
  cim_sat #(.IN_W(64), .OUT_W(32)) sat32 (.x(b64), .y(t), .saturated(s2));
  assign sat_t = s1 | s2;
  wire signed [63:0] prod = t * mult;  // |t * m| <= 2^62
  wire signed [63:0] u;
  cim_round_shift #(.X_W(64)) post (.x(prod), .s(shift), .y(u));
  // Output range as 64-bit signed bounds: [0, 2^B - 1] or [-2^(B-1), 2^(B-1) - 1].
  localparam [63:0] ONE = 64'd1;
  localparam [63:0] HI_U = (OUT_SIGNED != 0) ? (ONE << (OUT_BITS - 1)) - ONE : (ONE << OUT_BITS) - ONE;
  localparam [63:0] LO_U = (OUT_SIGNED != 0) ? ~((ONE << (OUT_BITS - 1)) - ONE) : 64'd0;
  wire hi = (u > $signed(HI_U));
  wire lo = (u < $signed(LO_U));
  assign sat_y = hi | lo;
  assign y = lo ? LO_U[OUT_BITS-1:0] : (hi ? HI_U[OUT_BITS-1:0] : u[OUT_BITS-1:0]);
endmodule

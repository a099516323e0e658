// axmac test circuit: 8x8 signed (two's complement) approximate multiplier, written by hand.
// The exact signed product with its three LSBs replaced by one "sticky" bit at position 2
// (bit 2 = OR of the exact bits 2..0, bits 1..0 = 0): error 4 - (p mod 8) in [-3, +3], 0 when p mod 8 = 0.
module approx_mul8_s (
    input  [7:0]  a_in,
    input  [7:0]  b_in,
    output [15:0] prod
);
    wire signed [15:0] full = $signed(a_in) * $signed(b_in);
    assign prod = {full[15:3], |full[2:0], 2'b00};
endmodule

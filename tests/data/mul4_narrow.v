// axmac test circuit: 4x4 multiplier with a 7-bit output (narrower than 2n = 8): the low 7 bits
// of the unsigned product. As an unsigned multiplier the output is zero-extended to 8 bits,
// as a signed one it is sign-extended from bit 6.
module mul4_narrow (input [3:0] a, input [3:0] b, output [6:0] p);
    wire [7:0] full = a * b;
    assign p = full[6:0];
endmodule

// axmac test circuit: exact 6x6 signed multiplier with a helper module declared first, so
// that the multiplier must be named (exact_mul6_s.v:exact_mul6_s).
module sext6 (input [5:0] v, output [11:0] w);
    assign w = {{6{v[5]}}, v};
endmodule

module exact_mul6_s (input [5:0] a, input [5:0] b, output [11:0] p);
    wire [11:0] wa, wb;
    sext6 ua (.v(a), .w(wa));
    sext6 ub (.v(b), .w(wb));
    assign p = wa * wb;  // low 12 bits of the sign-extended product = the signed product
endmodule

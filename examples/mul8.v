// axmac example: an 8x8 unsigned broken-array multiplier. The partial-product bits a[i] & b[j]
// of the four lowest columns (i + j < 4) are left out; all the others are added exactly.
// The same function as axmac's `bam:4` at 8-bit unsigned operands (README, tests/test_cli_readme.py).
module mul8 (
    input  [7:0]  a,
    input  [7:0]  b,
    output [15:0] p
);
    // row i: b shifted to column i when a[i] is set, with the columns below 4 cleared
    wire [127:0] rows;
    genvar i;
    generate
        for (i = 0; i < 8; i = i + 1) begin : row
            assign rows[16 * i +: 16] = (a[i] ? ({8'd0, b} << i) : 16'd0) & 16'hFFF0;
        end
    endgenerate
    assign p = rows[15:0] + rows[31:16] + rows[47:32] + rows[63:48]
             + rows[79:64] + rows[95:80] + rows[111:96] + rows[127:112];
endmodule

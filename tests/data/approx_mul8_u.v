// axmac test circuit: 8x8 unsigned approximate multiplier, written by hand for the tests.
// Array multiplier with three partial-product bits left out: x[0]&y[0] (column 0),
// x[1]&y[1] (column 2) and x[7]&y[0] (column 7). Always <= the exact product.
module approx_mul8_u (
    input  [7:0]  x,
    input  [7:0]  y,
    output [15:0] z
);
    wire [15:0] r0 = x[0] ? {8'd0, y[7:1], 1'b0}      : 16'd0;  // drops x0&y0
    wire [15:0] r1 = x[1] ? {7'd0, y[7:2], 1'b0, y[0], 1'b0} : 16'd0;  // drops x1&y1
    wire [15:0] r2 = x[2] ? {6'd0, y, 2'd0}           : 16'd0;
    wire [15:0] r3 = x[3] ? {5'd0, y, 3'd0}           : 16'd0;
    wire [15:0] r4 = x[4] ? {4'd0, y, 4'd0}           : 16'd0;
    wire [15:0] r5 = x[5] ? {3'd0, y, 5'd0}           : 16'd0;
    wire [15:0] r6 = x[6] ? {2'd0, y, 6'd0}           : 16'd0;
    wire [15:0] r7 = x[7] ? {1'd0, y[7:1], 1'b0, 7'd0} : 16'd0;  // drops x7&y0
    assign z = r0 + r1 + r2 + r3 + r4 + r5 + r6 + r7;
endmodule

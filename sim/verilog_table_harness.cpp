// Exhaustive product table of a combinational two-input Verilog module (axmac verilog: family).
// Built by gen/verilog_import.py with Verilator --cc --exe --prefix Vmul; the port names are
// substituted for @A@, @B@ and @P@ and the operand width for @BITS@ before compiling.
// Writes 2**(2*BITS) little-endian uint32 outputs, row-major: entry (a << BITS) | b.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "Vmul.h"
#include "verilated.h"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT.bin\n", argv[0]);
        return 2;
    }
    const uint32_t bits = @BITS@;
    const uint32_t side = 1u << bits;
    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vmul>(ctx.get());
    std::vector<uint32_t> out(static_cast<size_t>(side) * side);
    for (uint32_t a = 0; a < side; ++a) {
        top->@A@ = a;
        for (uint32_t b = 0; b < side; ++b) {
            top->@B@ = b;
            top->eval();
            out[static_cast<size_t>(a) * side + b] = static_cast<uint32_t>(top->@P@);
        }
    }
    top->final();
    FILE* f = std::fopen(argv[1], "wb");
    if (!f || std::fwrite(out.data(), sizeof(uint32_t), out.size(), f) != out.size() || std::fclose(f) != 0) {
        std::fprintf(stderr, "cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}

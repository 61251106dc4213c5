// A Verilator model of the board top wired to a pseudo-terminal: bytes the host writes to the
// terminal are sent bit by bit (8N1) into uart_rx; bits the board drives on uart_tx are
// decoded into bytes and written back. So the host driver, opening the terminal's slave
// path as it would open /dev/ttyUSB0, talks to the simulated board at its UART pins.
//
// usage: hadamhw_uart_bridge <terminal master fd> <clocks per bit> <button active low 0|1>
// Control on stdin, one character each: 'r' holds the reset button for a few bit times and,
// once the board is out of reset, answers "r\n" on stdout; end of file or 'q' ends the simulation.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "Vboard.h"
#include "verilated.h"

namespace {

struct LineDriver {  // the host's transmitter on uart_rx
    std::deque<uint8_t> pending;
    uint16_t frame = 0;
    int bit = -1;  // bit of the frame on the line; -1: idle
    int count = 0;
    int level(int clks_per_bit) {
        if (bit < 0) {
            if (pending.empty()) return 1;
            frame = static_cast<uint16_t>((1u << 9) | (pending.front() << 1));  // stop, data, start
            pending.pop_front();
            bit = 0;
            count = 0;
        }
        const int out = (frame >> bit) & 1;
        if (++count == clks_per_bit) {
            count = 0;
            if (++bit == 10) bit = -1;
        }
        return out;
    }
    bool idle() const { return bit < 0 && pending.empty(); }
};

struct LineReader {  // the host's receiver on uart_tx, sampling mid-bit
    int state = 0;  // 0 idle, 1 start, 2 data, 3 stop
    int count = 0, bit = 0;
    uint8_t value = 0;
    // returns a byte (0..255) when one is complete, else -1
    int sample(int line, int clks_per_bit) {
        switch (state) {
        case 0:
            if (!line) { state = 1; count = clks_per_bit / 2; }
            return -1;
        case 1:
            if (--count == 0) {
                if (line) { state = 0; return -1; }
                state = 2; count = clks_per_bit; bit = 0; value = 0;
            }
            return -1;
        case 2:
            if (--count == 0) {
                value = static_cast<uint8_t>(value | (line << bit));
                count = clks_per_bit;
                if (++bit == 8) state = 3;
            }
            return -1;
        default:
            if (--count == 0) {
                state = 0;
                return line ? value : -1;  // a byte without a stop bit is dropped
            }
            return -1;
        }
    }
    bool idle() const { return state == 0; }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s FD CLOCKS_PER_BIT BUTTON_ACTIVE_LOW\n", argv[0]);
        return 2;
    }
    const int fd = std::atoi(argv[1]);
    const int clks_per_bit = std::atoi(argv[2]);
    const int released = std::atoi(argv[3]) ? 1 : 0;  // the button's level when not pressed
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
    Verilated::commandArgs(1, argv);
    Vboard top;
    top.clk_in = 0;
    top.button = released;
    top.uart_rx = 1;
    top.eval();

    LineDriver driver;
    LineReader reader;
    std::vector<uint8_t> to_host;
    long press_left = 0, settle_left = 0;
    uint64_t quiet = 0;  // cycles with nothing on either line
    for (uint64_t cycle = 0;; ++cycle) {
        if ((cycle & 63) == 0 || quiet > 4096) {
            if (quiet > 4096) {  // idle: wait for the host (but keep the board's clock going)
                pollfd fds[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
                poll(fds, 2, 2);
                quiet = 2048;
            }
            uint8_t buf[4096];
            const ssize_t n = read(fd, buf, sizeof buf);
            for (ssize_t i = 0; i < n; ++i) driver.pending.push_back(buf[i]);
            char c;
            const ssize_t m = read(0, &c, 1);
            if (m == 0 || (m == 1 && c == 'q')) break;
            if (m == 1 && c == 'r') press_left = 64L * clks_per_bit;
            if (!to_host.empty()) {
                const ssize_t w = write(fd, to_host.data(), to_host.size());
                if (w > 0) to_host.erase(to_host.begin(), to_host.begin() + w);
            }
        }
        if (press_left > 0 && --press_left == 0) {
            top.button = released;
            settle_left = 16L * clks_per_bit;  // the board leaves reset before the host goes on
        } else if (press_left > 0) {
            top.button = !released;
        } else if (settle_left > 0 && --settle_left == 0) {
            std::fputs("r\n", stdout);
            std::fflush(stdout);
        }
        // the line stays idle while the board comes out of its power-on reset
        top.uart_rx = cycle < 64 ? 1 : static_cast<uint8_t>(driver.level(clks_per_bit));
        top.clk_in = 1;
        top.eval();
        top.clk_in = 0;
        top.eval();
        const int byte = reader.sample(top.uart_tx, clks_per_bit);
        if (byte >= 0) to_host.push_back(static_cast<uint8_t>(byte));
        const bool busy = !driver.idle() || !reader.idle() || !to_host.empty() ||
                          press_left > 0 || settle_left > 0 || !top.uart_tx;
        quiet = busy ? 0 : quiet + 1;
    }
    top.final();
    return 0;
}

"""Start-to-first-200 of /healthz: spawns the binary (env from the caller) and polls
127.0.0.1:PORT/healthz every 0.5 ms. Prints milliseconds. Usage: startup.py BIN PORT RUNS"""
import os, socket, subprocess, sys, time

def first_healthy_ms(binary, port):
    start = time.perf_counter()
    proc = subprocess.Popen([binary], stdout=subprocess.DEVNULL, env=os.environ)
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
                    if s.recv(64).split(b" ")[1] == b"200":
                        return (time.perf_counter() - start) * 1000
            except (ConnectionRefusedError, IndexError):
                time.sleep(0.0005)
            if proc.poll() is not None:
                sys.exit(f"service exited with {proc.returncode}")
    finally:
        proc.terminate()
        proc.wait()

binary, port, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = sorted(first_healthy_ms(binary, port) for _ in range(runs))
print(f"{times[len(times) // 2]:.1f} {times[-1]:.1f}")

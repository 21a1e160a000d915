#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM handling: the signal handler only writes a byte to a pipe; a dedicated thread waits on
/// the pipe, runs the flush (logs, metrics) on a normal thread, then ends the process.
package enum TerminationWatcher {
    /// The pipe's write end, for the async-signal-safe handler (which cannot capture state).
    /// Written once, before the handler is installed.
    nonisolated(unsafe) private static var writeEnd: Int32 = -1

    /// Installs the SIGTERM (and SIGINT) handler. `onTerminate` runs once, on its own thread; the
    /// process then exits with status 0.
    package static func install(onTerminate: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        writeEnd = fds[1]
        let box = Unmanaged.passRetained(Box(readEnd: fds[0], action: onTerminate)).toOpaque()
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            var byte: UInt8 = 0
            while read(box.readEnd, &byte, 1) < 0, errno == EINTR {}
            box.action()
            _exit(0)
        }, box) == 0 else { return }
        pthread_detach(thread)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(TerminationWatcher.writeEnd, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    private final class Box {
        let readEnd: Int32
        let action: @Sendable () -> Void
        init(readEnd: Int32, action: @escaping @Sendable () -> Void) {
            self.readEnd = readEnd
            self.action = action
        }
    }
}

// `bench <subcommand> [options]`: side-by-side benchmarks against the Python peers.
// Each subcommand lives in its own file and is listed in `BenchCommands.all`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

var arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let command = BenchCommands.all.first(where: { $0.name == name }) else {
    print(BenchCommands.usage)
    exit(arguments.isEmpty || arguments.first == "--help" ? 0 : 2)
}
arguments.removeFirst()
do {
    try command.run(BenchOptions(arguments))
} catch {
    print("bench \(name): \(error)")
    exit(1)
}

// pipelinectl: the operator's day-two commands (see PipelineCtl).
import Foundation
import LocalStack
import Primitives

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.isEmpty || arguments == ["--help"] || arguments == ["-h"] {
    print(PipelineCtl.usage)
    exit(arguments.isEmpty ? 2 : 0)
}
do {
    let ctl = try await PipelineCtl.make(environment: Environment.process(), output: { print($0) })
    try await ctl.run(arguments)
} catch {
    FileHandle.standardError.write(Data("pipelinectl: \(error)\n".utf8))
    exit(error.code == .usage ? 2 : 1)
}

import Glibc
import Primitives
import Testing

@Suite("Environment snapshot")
struct EnvironmentTests {
    /// Parses `entries` as a NULL-terminated C array, the shape of `environ`.
    private func parse(_ entries: [String]) -> Environment {
        var pointers: [UnsafeMutablePointer<CChar>?] = entries.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return pointers.withUnsafeMutableBufferPointer { Environment.parsing($0.baseAddress!) }
    }

    @Test("each entry splits at its first '=', keeping later '=' and UTF-8 in the value")
    func splitsAtTheFirstEquals() {
        let environment = parse(["PLAIN=value", "EQUALS=a=b==c", "UTF8=Größe ✓", "EMPTY=", "NO_EQUALS_SIGN", "=nameless"])
        #expect(environment["PLAIN"] == "value")
        #expect(environment["EQUALS"] == "a=b==c")
        #expect(environment["UTF8"] == "Größe ✓")
        #expect(environment.values["EMPTY"] == "")
        #expect(environment["EMPTY"] == nil)
        #expect(environment.values["NO_EQUALS_SIGN"] == nil)
        #expect(environment.values[""] == "nameless")
        #expect(environment.values.count == 5)
    }

    @Test("a name given twice keeps its last value")
    func laterEntryWins() {
        #expect(parse(["A=1", "A=2"])["A"] == "2")
    }

    @Test("process() reads the real environment: PATH as getenv sees it")
    func processReadsTheRealEnvironment() throws {
        let path = try #require(getenv("PATH").map { String(cString: $0) })
        #expect(Environment.process()["PATH"] == path)
    }
}

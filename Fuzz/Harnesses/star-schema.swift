// The star-schema specification: `StarSchemaSpec.parse` on the input. Errors must say what is
// wrong; an accepted specification must answer its queries (tables per source and kind, the
// dimensions a source touches) for every source and table it names.
import StarSchema

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStarSchema(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = bytes(data, size)
    do {
        let spec = try StarSchemaSpec.parse(input)
        for source in spec.sources {
            invariant(spec.source(named: source.name) != nil, "source \(source.name) not found by its name")
            _ = spec.dimensions(touchedBy: source.name)
            _ = spec.tables(.fact, from: source.name)
        }
        for table in spec.tables {
            invariant(spec.table(named: table.name) != nil, "table \(table.name) not found by its name")
        }
    } catch {
        invariant(!error.description.isEmpty, "a specification error without a description")
    }
    return 0
}

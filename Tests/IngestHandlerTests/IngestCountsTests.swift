@testable import IngestHandler
import PipelineCore
import Testing

@Suite("The counts a filed copy carries in its metadata")
struct IngestCountsTests {
    @Test("Counts and index names read back from the metadata they were written as")
    func roundTrip() throws {
        let counts = IngestCounts(records: 1_000_001, indexed: 999_990, failed: 11, skipped: 3, indexNames: ["b-2024.05", "a-2024.04", "b-2024.05"])
        #expect(counts.indexNames == ["a-2024.04", "b-2024.05"])
        let metadata = counts.metadata
        #expect(metadata["pipeline-records"] == "1000001" && metadata["pipeline-index-names"] == "a-2024.04,b-2024.05")
        #expect(IngestCounts(filedMetadata: metadata) == counts)
        // Beside the rest of the pipeline's metadata, as a filed copy has it.
        let filed = PipelineMetadata.make(fileId: "events/a.jsonl@e1", dataset: "events", sourceKey: "in/events/a.jsonl", sourceETag: "e1")
            .merging(metadata) { _, new in new }
        #expect(IngestCounts(filedMetadata: filed) == counts)
        let none = IngestCounts(records: 0, indexed: 0, failed: 0, skipped: 2, indexNames: [])
        #expect(IngestCounts(filedMetadata: none.metadata) == none)
    }

    @Test("A copy filed without counts, or with counts that are not counts, gives none")
    func missingOrMalformed() {
        let filed = PipelineMetadata.make(fileId: "events/a.jsonl@e1", dataset: "events", sourceKey: "in/events/a.jsonl", sourceETag: "e1")
        #expect(IngestCounts(filedMetadata: filed) == nil)
        let good = IngestCounts(records: 5, indexed: 4, failed: 1, skipped: 0, indexNames: ["x"]).metadata
        for (key, bad) in [("pipeline-records", "-1"), ("pipeline-indexed", "four"), ("pipeline-failed", ""), ("pipeline-skipped", "1e3")] {
            var metadata = good
            metadata[key] = bad
            #expect(IngestCounts(filedMetadata: metadata) == nil, "\(key)=\(bad)")
        }
        var missing = good
        missing["pipeline-skipped"] = nil
        #expect(IngestCounts(filedMetadata: missing) == nil)
    }

    @Test("Metadata size counts the UTF-8 bytes of every name and value, as S3's 2 KB limit does")
    func metadataSize() {
        #expect(PipelineMetadata.size([:]) == 0)
        #expect(PipelineMetadata.size(["a": "bc", "pipeline-x": "é"]) == 1 + 2 + 10 + 2)
        #expect(PipelineMetadata.sizeLimit == 2048)
    }
}

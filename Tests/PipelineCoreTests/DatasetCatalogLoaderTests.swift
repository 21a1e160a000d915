import AWSClients
import PipelineCore
import PipelineSettings
import Primitives
import Testing
import TestSupport

@Suite("Dataset catalog from SSM Parameter Store or a file")
struct DatasetCatalogLoaderTests {
    @Test("The catalog loads from an SSM parameter on moto")
    func fromSSM() async throws {
        let clients = try Moto.clients()
        let name = "/pipeline/\(Moto.unique("datasets"))"
        let document = try FileIO.readString(try fixturePath("datasets.json"))
        try await clients.ssm.putParameter(name, value: document)
        let catalog = try await DatasetCatalogLoader.load(.parameter(name), ssm: clients.ssm, defaultMaxFileSizeBytes: 30 << 20)
        #expect(catalog.datasets.map(\.name) == ["sales"])
        #expect(catalog.match(key: "sales/eu/2024-05-01.jsonl")?.parts["region"] == "eu")
        #expect(catalog.datasets[0].maxFileSizeBytes == 30 << 20)
    }

    @Test("A missing parameter is an invalid setting naming DATASETS_PARAMETER")
    func missingParameter() async throws {
        let clients = try Moto.clients()
        do {
            _ = try await DatasetCatalogLoader.load(.parameter("/pipeline/none-such"), ssm: clients.ssm, defaultMaxFileSizeBytes: 1)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidSetting)
            #expect(error.setting == "DATASETS_PARAMETER")
            #expect(error.message.contains("/pipeline/none-such"))
        }
    }

    @Test("A bad field in the document is named by its path; an unreadable file names DATASETS_FILE")
    func badDocument() async throws {
        let path = try fixturePath("datasets-bad-format.json")
        do {
            _ = try await DatasetCatalogLoader.load(.file(path), ssm: nil, defaultMaxFileSizeBytes: 1)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidSetting)
            #expect(error.setting == "datasets[0].format.type")
            #expect(error.message.contains("parquet"))
        }
        do {
            _ = try await DatasetCatalogLoader.load(.file("/nonexistent/datasets.json"), ssm: nil, defaultMaxFileSizeBytes: 1)
            Issue.record("expected an error")
        } catch {
            #expect(error.setting == "DATASETS_FILE")
        }
    }
}

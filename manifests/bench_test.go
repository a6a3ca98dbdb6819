package manifests

import "testing"

// BenchmarkLoadProduction is what every platform pays per Load once the CRDs are compiled.
func BenchmarkLoadProduction(b *testing.B) {
	if _, err := crdValidators(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(production); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileCRDs is the one-off cost of the first Load in a process: parsing the embedded
// CRDs and compiling their CEL rules.
func BenchmarkCompileCRDs(b *testing.B) {
	for b.Loop() {
		if _, err := loadCRDValidators(); err != nil {
			b.Fatal(err)
		}
	}
}

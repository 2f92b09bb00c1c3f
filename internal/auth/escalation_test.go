package auth

import (
	"slices"
	"testing"
)

func TestAuthorityAlgebra(t *testing.T) {
	s := &Service{ops: map[string]bool{"A:B": true, "C:D": true, "E:F": true, "Orders:Create": true}}
	all := authority{all: true}
	ab := opsAuthority([]string{"A:B"})
	abcd := opsAuthority([]string{"A:B", "C:D"})
	none := authority{}
	admin := &Permission{Name: FullAdminPermission, IsImmutable: true, Operations: []string{"A:B"}}
	lookalike := &Permission{Name: FullAdminPermission, Operations: []string{"A:B"}}
	archived := &Permission{Operations: []string{"A:B"}, IsArchived: true}

	for _, tc := range []struct {
		name       string
		have, want authority
		lacking    []string
	}{
		{"all holds everything, declared operations too", all, all, nil},
		{"a set lacks what all adds, operator operations included", abcd, all, []string{"E:F", "Orders:Create"}},
		{"subset", abcd, ab, nil},
		{"superset", ab, abcd, []string{"C:D"}},
		{"nothing lacks everything asked", none, abcd, []string{"A:B", "C:D"}},
		{"asking nothing", none, none, nil},
		{"PAT: user all within restriction ab", all.intersect(ab), abcd, []string{"C:D"}},
		{"PAT: user ab within restriction all", ab.intersect(all), ab, nil},
		{"PAT: user ab within restriction of C:D", ab.intersect(opsAuthority([]string{"C:D"})), ab, []string{"A:B"}},
		{"the immutable admin permission grants all", ab, permissionAuthority(admin), []string{"C:D", "E:F", "Orders:Create"}},
		{"a user-made permission named like it grants its list", ab, permissionAuthority(lookalike), nil},
		{"an archived permission grants nothing", ab, abcd.intersect(permissionAuthority(archived)), nil},
		{"nothing held through an archived permission", permissionAuthority(archived), ab, []string{"A:B"}},
	} {
		if got := s.lacking(tc.have, tc.want); !slices.Equal(got, tc.lacking) {
			t.Errorf("%s: lacking %v, want %v", tc.name, got, tc.lacking)
		}
	}
}

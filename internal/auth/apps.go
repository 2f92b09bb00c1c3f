package auth

import "context"

// Application is a Dfns application record (deprecated upstream; GET
// /auth/apps). signet keeps none: the relying party and origin are server
// flags (--rp-id, --origin), not per-org records, and no SDK of 0.8.x sends
// an application id (spec 1). So the list is always empty and every id is
// unknown; the type exists so the answer has the SDK's shape.
type Application struct {
	AppID                 string `json:"appId"`
	Kind                  string `json:"kind"`
	OrgID                 string `json:"orgId"`
	Name                  string `json:"name"`
	IsActive              bool   `json:"isActive"`
	PermissionAssignments []any  `json:"permissionAssignments"`
	AccessTokens          []any  `json:"accessTokens"`
	ExpectedRPID          string `json:"expectedRpId,omitempty"`
	ExpectedOrigin        string `json:"expectedOrigin,omitempty"`
}

// Applications lists the caller's org's applications: none (see
// Application).
func (s *Service) Applications(_ context.Context, _ *Principal) ([]Application, error) {
	return []Application{}, nil
}

// ApplicationByID answers 404 for any well-formed id: signet keeps no
// application records (see Application).
func (s *Service) ApplicationByID(_ context.Context, _ *Principal, appID string) (*Application, error) {
	if err := validID("appId", appID); err != nil {
		return nil, err
	}
	return nil, Errorf(NotFound, "application not found")
}

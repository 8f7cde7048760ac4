export { Activity, type RecentCall, type WorkflowRun } from "./activity.js";
export { COOKIE_NAME, createDashboard, DASHBOARD_PATH, type DashboardHandler } from "./handler.js";
export { listenDashboard, setUpDashboard, type DashboardServer, type DashboardSetup } from "./setup.js";
export { dashboardState, type DashboardState, type ServerRow } from "./state.js";

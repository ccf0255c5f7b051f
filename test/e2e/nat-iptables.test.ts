import { natScenario } from "./nat-scenario";

jest.setTimeout(300_000);
natScenario("iptables");

// The process designer's editor: the bpmn-js Modeler with the bpmn-js properties panel and a
// group of the properties the case engine needs (bpmn/README.md): a user task's form and stage,
// a timer's kind and clock, a lane's role, scripts, conditions and called processes.
// Bundled by `make install` (esbuild) into app/static/vendor/designer/modeler.js; exposes
// window.HcpModeler. Nothing is loaded from a CDN.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from 'bpmn-js-properties-panel';
import {
  SelectEntry, TextAreaEntry, TextFieldEntry,
  isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited
} from '@bpmn-io/properties-panel';
import { html } from 'htm/preact';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

// SpiffWorkflow's extension elements, as far as the engine's files use them.
const SPIFF_DESCRIPTOR = {
  name: 'SpiffWorkflow',
  uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
  prefix: 'spiffworkflow',
  xml: { tagAlias: 'lowerCase' },
  types: [
    { name: 'Properties', superClass: [ 'Element' ], properties: [
      { name: 'properties', type: 'Property', isMany: true } ] },
    { name: 'Property', properties: [
      { name: 'name', isAttr: true, type: 'String' },
      { name: 'value', isAttr: true, type: 'String' } ] },
    { name: 'PreScript', superClass: [ 'Element' ], properties: [ { name: 'value', isBody: true, type: 'String' } ] },
    { name: 'PostScript', superClass: [ 'Element' ], properties: [ { name: 'value', isBody: true, type: 'String' } ] },
    { name: 'InstructionsForEndUser', superClass: [ 'Element' ], properties: [ { name: 'value', isBody: true, type: 'String' } ] }
  ]
};

const CHINESE = {
  'General': '常规', 'Name': '名称', 'ID': '标识', 'Documentation': '说明', 'Element documentation': '元素说明',
  'Process documentation': '流程说明', 'Timer': '定时器', 'Type': '类型', 'Value': '值', 'Date': '日期（timeDate）',
  'Duration': '时长（timeDuration）', 'Cycle': '周期（timeCycle）', '<none>': '（无）', 'Executable': '可执行',
  'Process name': '流程名称', 'Process ID': '流程标识', 'Participant': '参与者', 'Multi-instance': '多实例',
  'Append': '追加', 'Create': '创建', 'Remove': '删除', 'Change element': '更改元素类型', 'Delete': '删除',
  'Connect using Sequence/MessageFlow or Association': '连线', 'Activate the hand tool': '抓手工具',
  'Activate the lasso tool': '套索工具', 'Activate the create/remove space tool': '插入/删除空间',
  'Activate the global connect tool': '连线工具', 'Create StartEvent': '开始事件', 'Create EndEvent': '结束事件',
  'Create Task': '任务', 'Create Gateway': '网关', 'Create expanded SubProcess': '子流程',
  'Create Pool/Participant': '池/参与者', 'Create Intermediate/Boundary Event': '中间/边界事件',
  'Append Task': '追加任务', 'Append EndEvent': '追加结束事件', 'Append Gateway': '追加网关',
  'Append Intermediate/Boundary Event': '追加中间/边界事件', 'Add Lane above': '在上方加泳道',
  'Add Lane below': '在下方加泳道', 'Divide into two Lanes': '拆为两个泳道', 'Divide into three Lanes': '拆为三个泳道',
  'Must provide a value.': '必须填写。'
};

function chineseTranslate(template, replacements) {
  const text = CHINESE[template] || template;
  return text.replace(/{([^}]+)}/g, (_, key) => (replacements || {})[key] || `{${key}}`);
}

// -- spiffworkflow:properties -------------------------------------------------------------
function propertiesOf(bo) {
  const extensions = bo.get('extensionElements');
  return extensions && (extensions.get('values') || []).find(v => is(v, 'spiffworkflow:Properties'));
}

export function getProperty(element, name) {
  const holder = propertiesOf(getBusinessObject(element));
  const found = holder && holder.get('properties').find(p => p.name === name);
  return found ? found.value || '' : '';
}

export function setProperty(injector, element, name, value) {
  const modeling = injector.get('modeling'), bpmnFactory = injector.get('bpmnFactory');
  const bo = getBusinessObject(element);
  let extensions = bo.get('extensionElements');
  if (!extensions) {
    if (!value) { return; }
    extensions = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    modeling.updateProperties(element, { extensionElements: extensions });
  }
  let holder = propertiesOf(bo);
  if (!holder) {
    if (!value) { return; }
    holder = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
    modeling.updateModdleProperties(element, extensions, { values: [ ...extensions.get('values'), holder ] });
  }
  const existing = holder.get('properties').find(p => p.name === name);
  if (!value) {
    if (existing) {
      modeling.updateModdleProperties(element, holder, { properties: holder.get('properties').filter(p => p !== existing) });
    }
  } else if (existing) {
    modeling.updateModdleProperties(element, existing, { value });
  } else {
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
    modeling.updateModdleProperties(element, holder, { properties: [ ...holder.get('properties'), property ] });
  }
}

function options(pairs, current) {
  const list = [ { value: '', label: '（未设置）' }, ...pairs.map(([ value, label ]) => ({ value, label: label === value ? value : `${label}（${value}）` })) ];
  if (current && !pairs.some(([ value ]) => value === current)) {
    list.push({ value: current, label: `${current}（不存在）` });
  }
  return list;
}

// -- entries ------------------------------------------------------------------------------
function PropertySelect(props) {
  const { element, id, label, name, pairs, description } = props;
  const injector = useService('injector');
  const choices = injector.get('config.hcpChoices') || {};
  return html`<${SelectEntry} element=${element} id=${id} label=${label} description=${description}
    disabled=${!choices.editable}
    getValue=${() => getProperty(element, name)}
    setValue=${value => setProperty(injector, element, name, value)}
    getOptions=${() => options(pairs(choices), getProperty(element, name))} />`;
}

function LaneRole(props) {
  const { element, id } = props;
  const modeling = useService('modeling'), injector = useService('injector');
  const choices = injector.get('config.hcpChoices') || {};
  const lanes = (choices.lanes || []).map(name => [ name, name ]);
  return html`<${SelectEntry} element=${element} id=${id} label="角色（泳道名称）" disabled=${!choices.editable}
    description="用户任务由所在泳道的角色办理"
    getValue=${() => getBusinessObject(element).get('name') || ''}
    setValue=${value => modeling.updateProperties(element, { name: value })}
    getOptions=${() => options(lanes, getBusinessObject(element).get('name'))} />`;
}

function Script(props) {
  const { element, id } = props;
  const modeling = useService('modeling'), debounce = useService('debounceInput'), injector = useService('injector');
  return html`<${TextAreaEntry} element=${element} id=${id} label="脚本（受限 Python）" monospace=${true} rows=${6}
    description="不能 import，不能使用以 _ 开头的名称；可用 deadline、warning_before、days_left 等辅助函数"
    disabled=${!(injector.get('config.hcpChoices') || {}).editable} debounce=${debounce}
    getValue=${() => getBusinessObject(element).get('script') || ''}
    setValue=${value => modeling.updateProperties(element, { script: value || undefined })} />`;
}

function Condition(props) {
  const { element, id } = props;
  const modeling = useService('modeling'), bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput'), injector = useService('injector');
  return html`<${TextAreaEntry} element=${element} id=${id} label="条件（Python 表达式）" monospace=${true} rows=${2}
    description="例如 action == 'complex'；表单字段和流程变量可直接使用"
    disabled=${!(injector.get('config.hcpChoices') || {}).editable} debounce=${debounce}
    getValue=${() => { const c = getBusinessObject(element).get('conditionExpression'); return c ? c.get('body') || '' : ''; }}
    setValue=${value => modeling.updateProperties(element, { conditionExpression: value
      ? bpmnFactory.create('bpmn:FormalExpression', { body: value }) : undefined })} />`;
}

function CalledElement(props) {
  const { element, id } = props;
  const modeling = useService('modeling'), debounce = useService('debounceInput'), injector = useService('injector');
  return html`<${TextFieldEntry} element=${element} id=${id} label="调用的流程标识" debounce=${debounce}
    disabled=${!(injector.get('config.hcpChoices') || {}).editable}
    getValue=${() => getBusinessObject(element).get('calledElement') || ''}
    setValue=${value => modeling.updateProperties(element, { calledElement: value })} />`;
}

function hasTimer(element) {
  const bo = getBusinessObject(element);
  return (bo.get('eventDefinitions') || []).some(d => is(d, 'bpmn:TimerEventDefinition'));
}

function engineEntries(element) {
  const entries = [];
  const select = (id, label, name, pairs, description) => entries.push({
    id, isEdited: isSelectEntryEdited,
    component: props => html`<${PropertySelect} ...${props} label=${label} name=${name} pairs=${pairs} description=${description} />`
  });
  if (is(element, 'bpmn:UserTask')) {
    select('hcp-form', '表单（form）', 'form', c => (c.forms || []).map(f => [ f, f ]), '表单定义在本页下方编辑');
    select('hcp-stage', '案件阶段（stage）', 'stage', c => c.stages || []);
  }
  if (is(element, 'bpmn:Event') && hasTimer(element)) {
    select('hcp-timer-kind', '定时器类型（timerKind）', 'timerKind', c => c.timerKinds || [],
      '预警和期限的边界定时器须为非中断');
    select('hcp-clock', '法定时限（clock）', 'clock', c => c.clocks || [], '预警和期限定时器必填');
  }
  if (is(element, 'bpmn:Lane')) {
    entries.push({ id: 'hcp-lane-role', component: LaneRole, isEdited: isSelectEntryEdited });
  }
  if (is(element, 'bpmn:ScriptTask')) {
    entries.push({ id: 'hcp-script', component: Script, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:SequenceFlow') && element.source && is(element.source, 'bpmn:Gateway')) {
    entries.push({ id: 'hcp-condition', component: Condition, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:CallActivity')) {
    entries.push({ id: 'hcp-called', component: CalledElement, isEdited: isTextFieldEntryEdited });
  }
  return entries;
}

class EnginePropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(400, this);
  }

  getGroups(element) {
    return groups => {
      const entries = engineEntries(element);
      if (entries.length) {
        const general = groups.findIndex(g => g.id === 'general');
        groups.splice(general + 1, 0, { id: 'hcp-engine', label: '引擎属性', entries });
      }
      return groups;
    };
  }
}
EnginePropertiesProvider.$inject = [ 'propertiesPanel' ];

const EnginePropertiesModule = {
  __init__: [ 'hcpPropertiesProvider' ],
  hcpPropertiesProvider: [ 'type', EnginePropertiesProvider ],
  translate: [ 'value', chineseTranslate ]
};

window.HcpModeler = {
  create(canvas, panel, choices) {
    return new Modeler({
      container: canvas,
      propertiesPanel: { parent: panel, layout: { groups: {
        general: { open: true }, 'hcp-engine': { open: true }, timer: { open: true } } } },
      additionalModules: [ BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, EnginePropertiesModule ],
      moddleExtensions: { spiffworkflow: SPIFF_DESCRIPTOR },
      hcpChoices: choices
    });
  }
};
